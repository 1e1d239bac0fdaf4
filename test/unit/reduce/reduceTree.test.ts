import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../lib/data/rng';
import {
  childRange,
  foldInOrder,
  reduceInTree,
  reduceLevels,
} from '../../../lib/reduce/reduceTree';

test('reduce levels: each step combines at most the group, every node once, the top fits a step', () => {
  assert.deepEqual(reduceLevels(1, 32), [1]);
  assert.deepEqual(reduceLevels(32, 32), [32]);
  assert.deepEqual(reduceLevels(33, 32), [33, 2]);
  assert.deepEqual(reduceLevels(1000, 32), [1000, 32]);
  assert.deepEqual(reduceLevels(1025, 32), [1025, 33, 2]);
  assert.deepEqual(reduceLevels(7, 2), [7, 4, 2]);
  for (const [leaves, group] of [
    [7, 2],
    [1000, 32],
    [1025, 32],
    [100, 3],
  ]) {
    const levels = reduceLevels(leaves, group);
    assert.ok(levels[levels.length - 1] <= group);
    for (let l = 1; l < levels.length; l++) {
      const covered: number[] = [];
      for (let j = 0; j < levels[l]; j++) {
        const [a, b] = childRange(levels, group, l, j);
        assert.ok(b - a >= 1 && b - a <= group, `level ${l} node ${j}: ${b - a} children`);
        for (let i = a; i < b; i++) covered.push(i);
      }
      assert.deepEqual(
        covered,
        Array.from({ length: levels[l - 1] }, (_, i) => i),
      );
    }
  }
  assert.throws(() => reduceLevels(10, 1), /group must be an integer ≥ 2/);
  assert.throws(() => reduceLevels(0, 4), /at least one partial/);
  assert.throws(() => childRange([7, 4, 2], 2, 3, 0), /no inner level 3/);
  assert.throws(() => childRange([7, 4, 2], 2, 1, 4), /level 1 has no node 4/);
});

/** Σ of the vectors in float64, by exact long sums (the brute force). */
function bruteSum(vectors: Float64Array[]): Float64Array {
  const out = new Float64Array(vectors[0].length);
  for (let i = 0; i < out.length; i++) {
    // Neumaier's compensated sum: a reference more accurate than any fold order.
    let s = 0;
    let comp = 0;
    for (const v of vectors) {
      const t = s + v[i];
      comp += Math.abs(s) >= Math.abs(v[i]) ? s - t + v[i] : v[i] - t + s;
      s = t;
    }
    out[i] = s + comp;
  }
  return out;
}

const add = (a: Float64Array, b: Float64Array) => a.map((x, i) => x + b[i]);

test('the tree sum of partial sums equals the float64 brute-force sum; with one step, the plain fold bit for bit', () => {
  const rng = new Rng(5);
  // Partials as a shard's covariance sums look: float32 products summed into float64.
  const partials = Array.from({ length: 70 }, () =>
    Float64Array.from({ length: 40 }, () => Math.fround((rng.next() - 0.3) * 1e3)),
  );
  const want = bruteSum(partials);
  for (const group of [2, 3, 8, 32, 70]) {
    const got = reduceInTree(partials, group, add);
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(got[i] - want[i]) <= 1e-12 * Math.max(1, Math.abs(want[i])),
        `group ${group}, element ${i}: ${got[i]} vs ${want[i]}`,
      );
    }
  }
  // leaves ≤ group: no inner level, the order of one left fold over the shards (the old reduce).
  assert.deepEqual(reduceInTree(partials, 70, add), foldInOrder(partials, add));
  assert.deepEqual(reduceInTree(partials, 100, add), foldInOrder(partials, add));
  // The tree's order: group 2 over 3 leaves is (p0 + p1) + p2 at the top.
  const order: string[] = [];
  reduceInTree(['a', 'b', 'c', 'd', 'e'], 2, (x, y) => {
    order.push(`${x}+${y}`);
    return `(${x}+${y})`;
  });
  assert.deepEqual(order, ['a+b', 'c+d', '(a+b)+(c+d)', '((a+b)+(c+d))+e']);
});
