import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { readAllParts, writePartitioned } from '../../../lib/data/partitionedDataset';
import { trainJob } from '../../../lib/jobs/trainJob';
import { buildModel } from '../../../lib/model/architectures';
import { checkpointPrefix, readCheckpointManifest } from '../../../lib/model/checkpoints';
import { modelHash } from '../../../lib/model/modelHash';
import { loadModel } from '../../../lib/model/storeIO';
import { FsStore } from '../../../lib/store/fsStore';
import { initBackend } from '../../../lib/tf/backend';
import { evaluateModel } from '../../../lib/train/evaluateModel';
import { writeWeights } from '../../../lib/train/trainer';
import { trainWithCheckpoints } from '../../../lib/train/trainWithCheckpoints';
import { blobs } from '../../support/tinyRun';

await initBackend('cpu', () => {});

const config = { optimizer: { kind: 'sgd' as const }, learningRate: 0.1, batchSize: 16, seed: 3 };
const architecture = { kind: 'mlp' as const, hidden: [8] };

async function setup() {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-trainjob-')));
  await writePartitioned(store, 'data', blobs('data', 120, 6, 5), 50);
  return store;
}

test('each checkpoint records its fit, and the weights are those of one uninterrupted run', async () => {
  const store = await setup();
  const m = await trainJob(store, {
    data: 'data',
    checkpoints: 'model/checkpoints.json',
    name: 'm',
    architecture,
    config,
    epochs: 3,
  });
  assert.deepEqual(
    m.checkpoints.map((c) => c.step),
    [8, 16, 24],
  );
  const ds = await readAllParts(store, 'data');
  // Reference: the same model trained in one go by trainWithCheckpoints.
  const ref = buildModel(architecture, { shape: [6], classes: 3 });
  const x = tf.tensor2d(ds.x!, [120, 6]);
  const cps = await trainWithCheckpoints(ref, { x, labels: ds.labels }, { config, epochs: 3 });
  x.dispose();
  const manifest = await readCheckpointManifest(store, 'model/checkpoints.json');
  for (const [i, c] of manifest.checkpoints.entries()) {
    writeWeights(ref, cps[i].weights);
    assert.equal(c.hash, await modelHash(ref), `checkpoint at step ${c.step}: same weights`);
    const saved = await loadModel(store, checkpointPrefix('model/checkpoints.json', c));
    assert.deepEqual(c.metrics, { train: evaluateModel(saved, ds) });
    saved.dispose();
  }
  const [first, , last] = manifest.checkpoints.map((c) => c.metrics!.train);
  assert.ok(last.loss < first.loss && last.accuracy > 0.6, JSON.stringify([first, last]));
});

test('a validation fraction is held out of training and measured at every checkpoint', async () => {
  const store = await setup();
  const m = await trainJob(store, {
    data: 'data',
    checkpoints: 'model/checkpoints.json',
    name: 'm',
    architecture,
    config,
    epochs: 2,
    validation: 0.25,
  });
  for (const c of m.checkpoints) {
    assert.equal(c.metrics?.train.rows, 90);
    assert.equal(c.metrics?.validation?.rows, 30);
  }
  // 90 rows in batches of 16: 6 steps an epoch.
  assert.deepEqual(
    m.checkpoints.map((c) => c.step),
    [6, 12],
  );
});

test('early stopping stops when the validation loss stops improving and keeps checkpoints up to the best', async () => {
  const store = await setup();
  // A validation set whose labels have nothing to do with the features: its loss soon rises.
  const noise = blobs('noise', 60, 6, 9);
  noise.labels = Int32Array.from({ length: 60 }, (_, i) => (i * 7) % 3);
  await writePartitioned(store, 'noise', noise, 60);
  const lines: string[] = [];
  const m = await trainJob(
    store,
    {
      data: 'data',
      checkpoints: 'model/checkpoints.json',
      name: 'm',
      architecture,
      config: { ...config, learningRate: 0.3 },
      epochs: 40,
      checkpointEvery: 4,
      validation: 'noise',
      earlyStop: 2,
    },
    (l) => lines.push(l),
  );
  const measured = lines
    .map((l) => /checkpoint at step (\d+): .*validation loss ([\d.]+)/.exec(l))
    .filter((r) => r !== null)
    .map((r) => ({ step: Number(r[1]), loss: Number(r[2]) }));
  assert.ok(measured.at(-1)!.step < 40 * 8, 'stopped before the last epoch');
  assert.ok(lines.some((l) => /stopping early/.test(l)));
  const bestLoss = Math.min(...m.checkpoints.map((c) => c.metrics!.validation!.loss));
  const last = m.checkpoints.at(-1)!;
  assert.equal(last.metrics!.validation!.loss, bestLoss, 'the last kept checkpoint is the best');
  // Two more were measured after it, without improving, and dropped.
  assert.equal(measured.length, m.checkpoints.length + 2);
  assert.ok(measured.slice(-2).every((x) => x.loss >= Number(bestLoss.toFixed(3))));
});
