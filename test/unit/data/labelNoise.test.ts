import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Dataset, readDataset, writeDataset } from '../../../lib/data/dataset';
import { flipLabels } from '../../../lib/data/labelNoise';
import { permutation, Rng } from '../../../lib/data/rng';

function set(rows: number, k: number): Dataset {
  return {
    name: 's',
    kind: 'tabular',
    shape: [1],
    classes: Array.from({ length: k }, (_, i) => `c${i}`),
    rows,
    ids: Int32Array.from({ length: rows }, (_, i) => i),
    labels: Int32Array.from({ length: rows }, (_, i) => (i % 10 === 9 ? -1 : i % k)),
    x: new Float32Array(rows),
  };
}

test('flipLabels flips round(fraction × labeled) labels to other classes, recording the truth', () => {
  const ds = set(1000, 4);
  const noisy = flipLabels(ds, 0.1, 7);
  let flipped = 0;
  for (let i = 0; i < ds.rows; i++) {
    assert.equal(noisy.originalLabels![i], ds.labels[i]);
    if (noisy.flipped![i]) {
      flipped++;
      assert.notEqual(noisy.labels[i], ds.labels[i]);
      assert.ok(ds.labels[i] >= 0, 'unlabeled rows are never flipped');
    } else assert.equal(noisy.labels[i], ds.labels[i]);
  }
  assert.equal(flipped, Math.round(0.1 * 900));
  assert.deepEqual(flipLabels(ds, 0.1, 7).labels, noisy.labels, 'seeded');
  assert.notDeepEqual(flipLabels(ds, 0.1, 8).labels, noisy.labels);
  const back = readDataset(writeDataset(noisy));
  assert.deepEqual(back.flipped, noisy.flipped);
  assert.deepEqual(back.originalLabels, noisy.originalLabels);
  assert.throws(() => flipLabels(ds, 1.5, 1), /fraction must be in \[0, 1\]/);
  assert.throws(() => flipLabels(set(3, 1), 0.5, 1), /needs at least 2/);
  assert.throws(() => flipLabels(noisy, 0.1, 1), /already has flipped labels/);
});

test('new labels are uniform over the other classes', () => {
  const ds = set(30000, 3);
  const noisy = flipLabels(ds, 1, 11);
  // For original class 0, the new label is 1 or 2 with probability 1/2 each.
  const counts = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < ds.rows; i++) {
    if (ds.labels[i] === 0) {
      counts[noisy.labels[i]]++;
      n++;
    }
  }
  assert.equal(counts[0], 0);
  const sd = Math.sqrt(n * 0.25);
  assert.ok(Math.abs(counts[1] - n / 2) < 5 * sd, `counts ${counts} far from uniform`);
});

test('Rng: deterministic, in range, unbiased enough; permutation is a permutation', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
  assert.notEqual(new Rng(1).nextU32(), new Rng(2).nextU32());
  const r = new Rng(5);
  const k = 7;
  const counts = new Array(k).fill(0);
  const N = 70000;
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const v = r.int(k);
    assert.ok(v >= 0 && v < k && Number.isInteger(v));
    counts[v]++;
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    sum += u;
  }
  const sd = Math.sqrt(N * (1 / k) * (1 - 1 / k));
  for (const c of counts) assert.ok(Math.abs(c - N / k) < 5 * sd, `counts ${counts}`);
  assert.ok(Math.abs(sum / N - 0.5) < 5 * Math.sqrt(1 / 12 / N));
  const p = permutation(1000, 3);
  assert.deepEqual(
    Array.from(p).sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.throws(() => new Rng(1.5), /seed must be an integer/);
  assert.throws(() => r.int(0), /integer bound/);
});
