import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { flipLabels } from '../../../lib/data/labelNoise';
import { MISLABEL_METHODS, mislabelBenchmark } from '../../../lib/eval/mislabelBenchmark';
import { initBackend } from '../../../lib/tf/backend';
import { blobs } from '../../support/tinyRun';

test('the mislabel benchmark finds planted flips far above chance (the bench:mislabel code path)', async () => {
  await initBackend('cpu', () => {});
  const clean = blobs('blobs', 300, 6, 11);
  // blobs() already mislabels every 17th row; start from the true classes, then flip 10%.
  clean.labels = Int32Array.from({ length: clean.rows }, (_, i) => i % 3);
  const ds = flipLabels(clean, 0.1, 5);
  const x = tf.tensor2d(ds.x as Float32Array, [ds.rows, 6]);
  try {
    const report = await mislabelBenchmark({
      dataset: 'blobs',
      x,
      labels: ds.labels,
      flipped: ds.flipped as Uint8Array,
      makeModel: () =>
        tfl.sequential({
          name: 'm',
          layers: [
            tfl.layers.dense({
              name: 'h',
              inputShape: [6],
              units: 8,
              activation: 'tanh',
              kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
            }),
            tfl.layers.dense({
              name: 'o',
              units: 3,
              kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
            }),
          ],
        }),
      train: { optimizer: { kind: 'sgd' }, learningRate: 0.2, batchSize: 30, seed: 3 },
      epochs: 8,
      projector: { kind: 'kronecker', k1: 4, k2: 3, seed: 0 },
    });
    assert.equal(report.train_size, 300);
    assert.deepEqual(Object.keys(report.methods).sort(), [...MISLABEL_METHODS].sort());
    const best = Math.max(...Object.values(report.methods).map((m) => m.auc));
    assert.ok(best > 0.85, `best AUC ${best}`);
    const tracIn = report.methods.tracInSelf;
    // 30 of 300 flipped: inspecting the top 10% at random finds 10% of them.
    assert.ok(tracIn.found_at_20pct > 0.5, `TracIn found ${tracIn.found_at_20pct} at 20%`);
    for (const m of Object.values(report.methods)) {
      assert.ok(m.found_at_5pct <= m.found_at_10pct && m.found_at_10pct <= m.found_at_20pct);
    }
  } finally {
    x.dispose();
  }
});
