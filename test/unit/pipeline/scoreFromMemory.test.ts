import assert from 'node:assert/strict';
import { test } from 'node:test';
import { featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { partialPrefix } from '../../../lib/pipeline/reducePrefixes';
import type { RunSpecInput } from '../../../lib/pipeline/runSpec';
import { scoreShard } from '../../../lib/pipeline/scoreShard';
import { readManifest } from '../../../lib/store/commit';
import { committedFiles, plannedTinyRun } from '../../support/plannedTinyRun';

const SELF = { kind: 'influence', layers: 'last', curvature: 'kfac' } as const;

const setup = (change: Partial<RunSpecInput>) => plannedTinyRun(150, change);

const cases: [string, Partial<RunSpecInput>][] = [
  ['exact factors, influence self-score', { projector: { kind: 'none' }, selfScore: SELF }],
  [
    'Kronecker in float32, Grad-Cos',
    {
      projector: { kind: 'kronecker', k1: 4, k2: 3, seed: 7, dtype: 'float32' },
      method: 'gradCos',
    },
  ],
];

for (const [name, change] of cases) {
  test(`a featurize that scores its shard from memory commits the score step's files bit for bit (${name})`, async () => {
    const expected: Map<string, Buffer>[] = [];
    {
      const { ctx, plan, planKey, checkpoints } = await setup(change);
      for (let s = 0; s < plan.train.shards.length; s++) {
        const r = await featurizeShard(ctx, { planKey, set: 'train', shard: s, checkpoints });
        assert.equal(r.scored, undefined);
        assert.equal((await scoreShard(ctx, planKey, s)).cached, false);
        expected.push(await committedFiles(ctx, partialPrefix(plan.runPrefix, s)));
      }
    }
    const { ctx, plan, planKey, checkpoints } = await setup(change);
    for (let s = 0; s < plan.train.shards.length; s++) {
      const task = { planKey, set: 'train' as const, shard: s, checkpoints, score: true };
      const r = await featurizeShard(ctx, task);
      assert.equal(r.scored, true, `shard ${s} scored from memory`);
      assert.equal((await scoreShard(ctx, planKey, s)).cached, true);
      const got = await committedFiles(ctx, partialPrefix(plan.runPrefix, s));
      assert.deepEqual([...got.keys()].sort(), [...expected[s].keys()].sort());
      for (const [file, bytes] of expected[s]) {
        assert.ok(bytes.equals(got.get(file) as Buffer), `shard ${s}: ${file} differs`);
      }
    }
  });
}

test('a featurize scores from memory only when it computes every checkpoint whole, in float32, with the queries committed', async () => {
  // float16 files read back rounded: left to the score step.
  {
    const { ctx, planKey, checkpoints } = await setup({});
    const r = await featurizeShard(ctx, {
      planKey,
      set: 'train',
      shard: 0,
      checkpoints,
      score: true,
    });
    assert.equal(r.scored, undefined);
  }
  const { ctx, plan, planKey, checkpoints } = await setup({ projector: { kind: 'none' } });
  // Some checkpoints committed already: their features are not in memory.
  await featurizeShard(ctx, { planKey, set: 'train', shard: 0, checkpoints: [0] });
  let r = await featurizeShard(ctx, { planKey, set: 'train', shard: 0, checkpoints, score: true });
  assert.equal(r.scored, undefined);
  assert.equal(await readManifest(ctx.store, partialPrefix(plan.runPrefix, 0)), undefined);
  // A query file missing: nothing to score against yet.
  await ctx.store.delete(`${ctx.featurePrefix(plan, 'query', 0, 2)}/MANIFEST.json`);
  r = await featurizeShard(ctx, { planKey, set: 'train', shard: 1, checkpoints, score: true });
  assert.equal(r.scored, undefined);
  assert.equal(await readManifest(ctx.store, partialPrefix(plan.runPrefix, 1)), undefined);
});
