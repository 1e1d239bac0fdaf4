import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leaseFeatureArrays, pooledFeatureArrays } from '../../../lib/pipeline/featureArrays';
import { featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { partialPrefix } from '../../../lib/pipeline/reducePrefixes';
import type { RunContext } from '../../../lib/pipeline/runContext';
import { committedFiles, plannedTinyRun } from '../../support/plannedTinyRun';

test('a released array is taken again for the same sizes only; the pool keeps a bounded number of bytes', () => {
  const a = leaseFeatureArrays();
  const r = a.take(10, 7, 2);
  assert.equal(r.data.length, 70);
  assert.equal(r.layerSqNorm.length, 20);
  a.release();
  a.release(); // idempotent: the array is in the pool once
  assert.equal(pooledFeatureArrays().filter((p) => p === r).length, 1);
  const b = leaseFeatureArrays();
  assert.notEqual(b.take(10, 7, 3), r, 'another layout gets other arrays');
  assert.equal(b.take(10, 7, 2), r, 'the same layout gets the pooled arrays');
  assert.notEqual(b.take(10, 7, 2), r, 'an array is lent to one taker at a time');
  b.release();
  // Past the byte bound the oldest free arrays are dropped.
  const bound = 3 * 1000 * 4 * 10; // under three arrays of 10 rows × 1,000 values (and norms)
  const big = leaseFeatureArrays(bound);
  const first = big.take(10, 1000, 1);
  for (let i = 0; i < 3; i++) big.take(10, 1000, 1);
  big.release();
  const wide = pooledFeatureArrays().filter((p) => p.data.length === 10_000);
  assert.equal(wide.length, 2, 'the oldest arrays go until the rest fit under the bound');
  assert.ok(!wide.includes(first), 'the oldest went first');
});

/** The committed files of each prefix, by name. */
const featureFiles = (ctx: RunContext, prefixes: string[]) =>
  Promise.all(prefixes.map((p) => committedFiles(ctx, p)));

for (const [name, score, chunkRows] of [
  ['kept whole for scoring from memory', true, undefined],
  ['one chunk of arrays written again', false, 16],
] as const) {
  test(`arrays an earlier featurize left in the pool never show through (${name})`, async () => {
    const { store, ctx, plan, planKey, checkpoints } = await plannedTinyRun(200, {
      projector: { kind: 'none' },
    });
    const task = { planKey, set: 'train' as const, shard: 0, checkpoints, score };
    const prefixes = checkpoints.map((c) => ctx.featurePrefix(plan, 'train', 0, c));
    const first = await featurizeShard(ctx, task, { chunkRows });
    assert.equal(first.scored, score || undefined);
    const want = await featureFiles(ctx, prefixes);
    const scores = score ? await featureFiles(ctx, [partialPrefix(plan.runPrefix, 0)]) : undefined;

    // Poison what the pool holds, then compute the same shard again from scratch.
    const poisoned = [...pooledFeatureArrays()];
    assert.ok(poisoned.length > 0, 'the featurize returned its arrays to the pool');
    for (const r of poisoned) {
      r.data.fill(Number.NaN);
      r.loss.fill(Number.NaN);
      r.sqNorm.fill(Number.NaN);
      r.layerSqNorm.fill(Number.NaN);
    }
    for (const key of await store.list(plan.runPrefix)) {
      if (!key.endsWith('plan.json')) await store.delete(key);
    }
    for (const p of prefixes) {
      for (const key of await store.list(p)) await store.delete(key);
    }
    const again = await featurizeShard(ctx, task, { chunkRows });
    assert.equal(again.cached, false);
    assert.equal(again.scored, score || undefined, 'the same path as the first time');
    assert.deepEqual(await featureFiles(ctx, prefixes), want, 'the same files, bit for bit');
    if (score) {
      // The scores from the kept whole-shard arrays, bit for bit.
      assert.deepEqual(await featureFiles(ctx, [partialPrefix(plan.runPrefix, 0)]), scores);
    }
    // The poisoned arrays were the ones used, and every value of those touched was written.
    const touched = poisoned.filter((r) => !r.data.every(Number.isNaN));
    assert.ok(touched.length > 0, 'the pooled arrays were used again');
    for (const r of touched) {
      for (const a of [r.data, r.loss, r.sqNorm, r.layerSqNorm]) {
        assert.ok(!a.some(Number.isNaN), 'an array written only in part');
      }
    }
  });
}
