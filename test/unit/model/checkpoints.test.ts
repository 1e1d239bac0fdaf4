import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  checkpointInfos,
  checkpointPrefix,
  parseCheckpointManifest,
  readCheckpointManifest,
  saveCheckpoint,
  writeCheckpointManifest,
} from '../../../lib/model/checkpoints';
import { modelHash } from '../../../lib/model/modelHash';
import { loadModel } from '../../../lib/model/storeIO';
import { FsStore } from '../../../lib/store/fsStore';

await tf.setBackend('cpu');

function model(seed: number): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({
      inputShape: [4],
      units: 3,
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    }),
  );
  return m;
}

test('saveCheckpoint builds a manifest whose checkpoints load back with their hashes', async () => {
  const store = new FsStore(mkdtempSync(join(tmpdir(), 'ckpt-')));
  const key = 'runs/r1/checkpoints.json';
  const models = [model(1), model(2), model(3)];
  // Saved out of order: the manifest keeps steps sorted.
  await saveCheckpoint(models[1], store, key, { model: 'mlp', step: 200, learningRate: 0.05 });
  await saveCheckpoint(models[0], store, key, { model: 'mlp', step: 100, learningRate: 0.1 });
  await saveCheckpoint(models[2], store, key, { model: 'mlp', step: 300, learningRate: 0.01 });
  const m = await readCheckpointManifest(store, key, { verifyHashes: true });
  assert.deepEqual(checkpointInfos(m), [
    { step: 100, learningRate: 0.1 },
    { step: 200, learningRate: 0.05 },
    { step: 300, learningRate: 0.01 },
  ]);
  for (let i = 0; i < 3; i++) {
    const c = m.checkpoints[i];
    assert.equal(checkpointPrefix(key, c), `runs/r1/step-${c.step}`);
    assert.equal(c.hash, await modelHash(models[i]));
    const loaded = await loadModel(store, checkpointPrefix(key, c));
    assert.equal(await modelHash(loaded), c.hash);
  }
  await assert.rejects(
    saveCheckpoint(models[0], store, key, { model: 'other', step: 400, learningRate: 0.1 }),
    /is for model "mlp", not "other"/,
  );
});

test('bad manifests are rejected with the problem named', async () => {
  const ok = { model: 'm', checkpoints: [{ step: 1, learningRate: 0.1, key: 'a' }] };
  assert.deepEqual(parseCheckpointManifest(ok), ok);
  assert.throws(
    () => parseCheckpointManifest({ model: 'm', checkpoints: [{ step: 1, key: 'a' }] }),
    /checkpoints\[0\]\.learningRate: missing learning rate/,
  );
  assert.throws(
    () =>
      parseCheckpointManifest({
        model: 'm',
        checkpoints: [{ step: 1, learningRate: -1, key: 'a' }],
      }),
    /learning rate must be > 0/,
  );
  assert.throws(
    () =>
      parseCheckpointManifest({
        model: 'm',
        checkpoints: [
          { step: 5, learningRate: 0.1, key: 'a' },
          { step: 3, learningRate: 0.1, key: 'b' },
        ],
      }),
    /checkpoints\[1\]\.step: steps must be strictly increasing: step 3 follows step 5/,
  );
  assert.throws(
    () => parseCheckpointManifest({ model: 'm', checkpoints: [] }),
    /at least one checkpoint/,
  );
  assert.throws(
    () => parseCheckpointManifest({ checkpoints: ok.checkpoints }),
    /model: missing model name/,
  );
  assert.throws(
    () =>
      parseCheckpointManifest({
        model: 'm',
        checkpoints: [{ step: 1, learningRate: 0.1, key: 'a', hash: 'xyz' }],
      }),
    /hash must be a sha256 hex digest/,
  );

  const store = new FsStore(mkdtempSync(join(tmpdir(), 'ckpt-')));
  await writeCheckpointManifest(store, 'c.json', ok);
  await assert.rejects(
    readCheckpointManifest(store, 'c.json'),
    /checkpoint at step 1 names key "a" but there is no a\/model\.json in the store/,
  );
  await saveCheckpoint(model(1), store, 'c2.json', { model: 'm', step: 1, learningRate: 0.1 });
  const m = await readCheckpointManifest(store, 'c2.json');
  await writeCheckpointManifest(store, 'c2.json', {
    ...m,
    checkpoints: [{ ...m.checkpoints[0], hash: '0'.repeat(64) }],
  });
  await assert.rejects(
    readCheckpointManifest(store, 'c2.json', { verifyHashes: true }),
    /has hash [0-9a-f]{64}, manifest says 0{64}/,
  );
  await store.put('bad.json', '{oops');
  await assert.rejects(readCheckpointManifest(store, 'bad.json'), /bad\.json .* is not valid JSON/);
});
