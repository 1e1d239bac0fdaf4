/**
 * The binary and regression heads' mislabel/outlier benchmark on data where the answer is known:
 * a smooth target of the features, 10% of the targets corrupted (regression) or labels flipped
 * (binary); both rankings must find most of them, far above chance.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corruptTargets } from '../../../lib/data/labelNoise';
import { Rng } from '../../../lib/data/rng';
import { headNoiseBenchmark } from '../../../lib/eval/headNoiseBenchmark';
import { initBackend } from '../../../lib/tf/backend';

await initBackend('cpu', () => {});

function table(n: number, d: number, seed: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * d }, () => rng.next() * 2 - 1);
  const score = Array.from({ length: n }, (_, i) => x[i * d] + 0.5 * x[i * d + 1] - x[i * d + 2]);
  return { x, score };
}

test('corruptTargets moves round(fraction · n) targets by 2σ to 4σ and records which', () => {
  const y = Array.from({ length: 200 }, (_, i) => Math.sin(i));
  const sigma = Math.sqrt(
    y.reduce((s, v) => s + v * v, 0) / 200 - (y.reduce((s, v) => s + v, 0) / 200) ** 2,
  );
  const { targets, corrupted } = corruptTargets(y, 0.1, 3);
  assert.equal(
    corrupted.reduce((s, c) => s + c, 0),
    20,
  );
  for (let i = 0; i < 200; i++) {
    const moved = Math.abs(targets[i] - y[i]);
    if (corrupted[i]) assert.ok(moved >= 2 * sigma - 1e-5 && moved <= 4 * sigma + 1e-5, `row ${i}`);
    else assert.ok(moved < 1e-6, `row ${i} unchanged`);
  }
});

test('regression head: corrupted targets rank first by TracIn self-influence and by loss', () => {
  const n = 200;
  const d = 4;
  const { x, score } = table(n, d, 1);
  const { targets, corrupted } = corruptTargets(score, 0.1, 2);
  const r = headNoiseBenchmark({
    dataset: 'synthetic',
    head: 'regression',
    x,
    features: d,
    targets,
    corrupted,
    hidden: 16,
    epochs: 20,
    checkpointEvery: 5,
    learningRate: 0.05,
    batchSize: 20,
    seed: 3,
  });
  assert.equal(r.checkpoints.length, 4);
  assert.equal(r.noise, 0.1);
  for (const m of ['tracinSelf', 'loss'] as const) {
    assert.ok(r.methods[m].auc > 0.9, `${m} AUC ${r.methods[m].auc}`);
    assert.ok(r.methods[m].found_at_10pct > 0.6, `${m} found@10% ${r.methods[m].found_at_10pct}`);
  }
});

test('binary head: flipped labels rank first by TracIn self-influence and by loss', () => {
  const n = 200;
  const d = 4;
  const { x, score } = table(n, d, 4);
  const rng = new Rng(5);
  const labels = Float32Array.from(score, (s) => (s > 0 ? 1 : 0));
  const corrupted = new Uint8Array(n);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  for (const i of order.slice(0, 20)) {
    labels[i] = 1 - labels[i];
    corrupted[i] = 1;
  }
  const r = headNoiseBenchmark({
    dataset: 'synthetic',
    head: 'binary',
    x,
    features: d,
    targets: labels,
    corrupted,
    hidden: 16,
    epochs: 20,
    checkpointEvery: 5,
    learningRate: 0.2,
    batchSize: 20,
    seed: 6,
  });
  for (const m of ['tracinSelf', 'loss'] as const) {
    assert.ok(r.methods[m].auc > 0.85, `${m} AUC ${r.methods[m].auc}`);
  }
  assert.ok(r.train_fit > 0.8, `accuracy ${r.train_fit}`);
});
