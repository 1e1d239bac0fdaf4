import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kFolds } from '../../../lib/data/split';

test('kFolds: every row in one fold, sizes within one, seeded', () => {
  const n = 103;
  const k = 5;
  const f = kFolds(n, k, 9);
  const sizes = new Array(k).fill(0);
  for (const v of f) {
    assert.ok(Number.isInteger(v) && v >= 0 && v < k);
    sizes[v]++;
  }
  assert.deepEqual(
    sizes.sort((a, b) => a - b),
    [20, 21, 21, 21, 20].sort((a, b) => a - b),
  );
  assert.deepEqual(kFolds(n, k, 9), f);
  assert.notDeepEqual(kFolds(n, k, 10), f);
});

test('kFolds: k outside [2, n] is an error naming it', () => {
  assert.throws(() => kFolds(10, 1, 0), /integer k in \[2, 10\].*got 1/);
  assert.throws(() => kFolds(3, 4, 0), /got 4/);
});
