import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mislabelBenchmark } from '../../../lib/eval/mislabelBenchmark';
import { SELF_SCORERS } from '../../../lib/eval/selfScorers';
import { initBackend } from '../../../lib/tf/backend';
import { flippedBlobs, tanhMlp } from '../../support/mislabelFixture';

test('the mislabel benchmark finds planted flips far above chance (the bench:mislabel code path)', async () => {
  await initBackend('cpu', () => {});
  const { ds, x } = flippedBlobs(300, 6, 11, 5);
  try {
    const report = await mislabelBenchmark({
      dataset: 'blobs',
      x,
      labels: ds.labels,
      flipped: ds.flipped as Uint8Array,
      makeModel: () => tanhMlp(6, 8, [1, 2]),
      train: { optimizer: { kind: 'sgd' }, learningRate: 0.2, batchSize: 30, seed: 3 },
      epochs: 8,
      projector: { kind: 'kronecker', k1: 4, k2: 3, seed: 0 },
    });
    assert.equal(report.train_size, 300);
    assert.deepEqual(Object.keys(report.methods).sort(), [...SELF_SCORERS].sort());
    const best = Math.max(...Object.values(report.methods).map((m) => m.auc));
    assert.ok(best > 0.85, `best AUC ${best}`);
    const tracIn = report.methods.tracinSelf;
    // 30 of 300 flipped: inspecting the top 10% at random finds 10% of them.
    assert.ok(tracIn.found_at_20pct > 0.5, `TracIn found ${tracIn.found_at_20pct} at 20%`);
    for (const m of Object.values(report.methods)) {
      assert.ok(m.found_at_5pct <= m.found_at_10pct && m.found_at_10pct <= m.found_at_20pct);
    }
  } finally {
    x.dispose();
  }
});
