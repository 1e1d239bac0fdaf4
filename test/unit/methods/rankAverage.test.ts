import assert from 'node:assert/strict';
import { test } from 'node:test';
import { averageRanks, rankAverage } from '../../../lib/methods/rankAverage';

test('averageRanks: ascending 1..n, ties share their average rank', () => {
  assert.deepEqual([...averageRanks([0.3, -1, 0.3, 7])], [2.5, 1, 2.5, 4]);
});

test('rankAverage equals its definition on a hand-made case', () => {
  // Two scores on unrelated scales over 4 rows.
  const a = [0.9, 0.1, 0.5, 0.2]; // ranks 4 1 3 2
  const b = [10, 300, 20, 20]; // ranks 1 4 2.5 2.5
  // Equal weights: ((4 + 1) / 2, (1 + 4) / 2, (3 + 2.5) / 2, (2 + 2.5) / 2) / 4
  assert.deepEqual([...rankAverage([a, b])], [5 / 8, 5 / 8, 5.5 / 8, 4.5 / 8]);
  // Weights 3 : 1: (3 · rank_a + rank_b) / 4 / 4
  const w = rankAverage([a, b], [3, 1]);
  const want = [13 / 16, 7 / 16, 11.5 / 16, 8.5 / 16];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(w[i] - want[i]) < 1e-15, `row ${i}`);
  // An increasing map of one score leaves the combination unchanged.
  assert.deepEqual([...rankAverage([a.map((v) => Math.exp(5 * v)), b])], [...rankAverage([a, b])]);
});

test('rankAverage: mismatched lengths, bad weights and non-finite scores are errors', () => {
  assert.throws(() => rankAverage([[1, 2], [1]]), /score 1 has 1 values, score 0 has 2/);
  assert.throws(() => rankAverage([[1, 2]], [0]), /positive sum/);
  assert.throws(() => rankAverage([[1, Number.NaN]]), /score 0 is not finite at row 1/);
  assert.throws(() => rankAverage([]), /no scores/);
});
