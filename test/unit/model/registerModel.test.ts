import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkpointPrefix, readCheckpointManifest } from '../../../lib/model/checkpoints';
import { importModel } from '../../../lib/model/importModel';
import { formatLayerTable, registerModel } from '../../../lib/model/registerModel';
import { loadModel, saveModelToPath } from '../../../lib/model/storeIO';
import { FsStore } from '../../../lib/store/fsStore';

await tf.setBackend('cpu');

const FIXTURES = fileURLToPath(new URL('../../fixtures/keras/', import.meta.url));

function mlp(seed: number, hidden = 5, extra?: tfl.layers.Layer): tfl.LayersModel {
  const m = tfl.sequential({ name: 'user_mlp' });
  const init = tfl.initializers.glorotUniform({ seed });
  if (extra) m.add(extra);
  m.add(
    tfl.layers.dense({
      inputShape: extra ? undefined : [4],
      units: hidden,
      activation: 'relu',
      kernelInitializer: init,
      name: 'hidden',
    }),
  );
  m.add(tfl.layers.dropout({ rate: 0.1, name: 'drop' }));
  m.add(tfl.layers.dense({ units: 3, kernelInitializer: init, name: 'logits' }));
  return m;
}

/** A folder of TensorFlow.js checkpoints (model.json + weights.bin each), as a user brings them. */
async function userFolder(models: Record<string, tfl.LayersModel>): Promise<FsStore> {
  const dir = mkdtempSync(join(tmpdir(), 'tda-user-model-'));
  for (const [name, m] of Object.entries(models)) await saveModelToPath(m, join(dir, name));
  return new FsStore(dir);
}

const x = tf.randomNormal([6, 4], 0, 1, 'float32', 3);
const predict = (m: tfl.LayersModel) => Array.from((m.predict(x) as tf.Tensor).dataSync());

test('model add registers TF.js checkpoints: manifest with steps, rates and hashes; models load back', async () => {
  const user = await userFolder({ 'ckpt-a': mlp(1), 'ckpt-b': mlp(2) });
  const out = new FsStore(mkdtempSync(join(tmpdir(), 'tda-store-')));
  const a = await importModel(user, 'ckpt-a');
  const b = await importModel(user, 'ckpt-b/model.json');
  assert.equal(a.format, 'tfjs');
  // Given out of order: the manifest sorts by step.
  const r = await registerModel(
    [
      { imported: b, step: 200, learningRate: 0.01 },
      { imported: a, step: 100, learningRate: 0.1 },
    ],
    { store: out, manifestKey: 'models/mine/checkpoints.json', name: 'mine', layers: 'all' },
  );
  const m = await readCheckpointManifest(out, 'models/mine/checkpoints.json', {
    verifyHashes: true,
  });
  assert.deepEqual(
    m.checkpoints.map((c) => [c.step, c.learningRate, c.key]),
    [
      [100, 0.1, 'step-100'],
      [200, 0.01, 'step-200'],
    ],
  );
  assert.deepEqual(r.manifest, m);
  const back = await loadModel(
    out,
    checkpointPrefix('models/mine/checkpoints.json', m.checkpoints[1]),
  );
  assert.deepEqual(predict(back), predict(b.model));
  assert.notDeepEqual(predict(back), predict(a.model));
  assert.deepEqual(r.table, [
    { name: 'hidden', type: 'Dense', params: 25, supported: 'yes', selected: true },
    { name: 'drop', type: 'Dropout', params: 0, supported: 'pass-through', selected: false },
    { name: 'logits', type: 'Dense', params: 18, supported: 'yes', selected: true },
  ]);
  assert.match(
    formatLayerTable(r.table),
    /^layer +type +parameters +supported +selected\nhidden +Dense +25 +yes +yes\n/,
  );
  await assert.rejects(
    registerModel([{ imported: a, step: 0, learningRate: 1 }], {
      store: out,
      manifestKey: 'models/mine/checkpoints.json',
      name: 'mine',
      layers: 'all',
    }),
    /models\/mine\/checkpoints\.json already exists .*--replace/,
  );
});

test('a Keras 3 .keras file registers as one final model (step 0, learning rate 1)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-keras-user-'));
  mkdirSync(join(dir, 'final'));
  copyFileSync(join(FIXTURES, 'mlp_sequential.keras'), join(dir, 'final', 'mlp.keras'));
  const user = new FsStore(dir);
  const imported = await importModel(user, 'final'); // a folder holding one .keras file
  assert.equal(imported.format, 'keras');
  assert.match(imported.source, /final\/mlp\.keras$/);
  const out = new FsStore(mkdtempSync(join(tmpdir(), 'tda-store-')));
  const r = await registerModel([{ imported, step: 0, learningRate: 1 }], {
    store: out,
    manifestKey: 'm/checkpoints.json',
    name: 'keras-mlp',
    layers: 'last',
  });
  assert.deepEqual(
    r.table.map((t) => [t.name, t.selected]),
    [
      ['hidden', false],
      ['dropout', false],
      ['logits', true],
    ],
  );
  const back = await loadModel(out, 'm/step-0');
  const xs = tf.randomNormal([3, 6], 0, 1, 'float32', 5);
  assert.deepEqual(
    Array.from((back.predict(xs) as tf.Tensor).dataSync()),
    Array.from((imported.model.predict(xs) as tf.Tensor).dataSync()),
  );
});

test('bad input fails at once naming the file or layer, and nothing is written', async () => {
  const user = await userFolder({
    a: mlp(1),
    wider: mlp(2, 6),
    gru: mlp(
      3,
      5,
      tfl.layers.gru({
        units: 4,
        inputShape: [2, 3],
        recurrentInitializer: 'glorotUniform',
        name: 'recurrent',
      }),
    ),
  });
  const out = new FsStore(mkdtempSync(join(tmpdir(), 'tda-store-')));
  const opts = { store: out, manifestKey: 'k/checkpoints.json', name: 'k', layers: 'all' as const };
  const a = await importModel(user, 'a');

  const wider = await importModel(user, 'wider');
  await assert.rejects(
    registerModel(
      [
        { imported: a, step: 1, learningRate: 0.1 },
        { imported: wider, step: 2, learningRate: 0.1 },
      ],
      opts,
    ),
    /checkpoint at step 2 \(file:\/\/.*\/wider\/model\.json\) has a different topology from step 1 .*: layer 'hidden' differs/,
  );

  const gru = await importModel(user, 'gru');
  await assert.rejects(
    registerModel([{ imported: gru, step: 0, learningRate: 1 }], opts),
    /gru\/model\.json: layer 'recurrent' \(GRU\) is not supported .*--layers NAME/,
  );
  // Excluding it is enough.
  const ok = await registerModel([{ imported: gru, step: 0, learningRate: 1 }], {
    ...opts,
    manifestKey: 'ok/checkpoints.json',
    layers: { names: ['hidden', 'logits'] },
  });
  assert.equal(ok.table.find((t) => t.name === 'recurrent')?.supported, 'no');
  assert.deepEqual(await out.list('k/'), []);

  rmSync(join(user.uri.replace('file://', ''), 'a', 'weights.bin'));
  await assert.rejects(
    importModel(user, 'a'),
    /a\/model\.json in file:\/\/.* names weight file "weights\.bin", which is missing/,
  );
  await assert.rejects(importModel(user, 'nothing'), /nothing holds no model/);
});
