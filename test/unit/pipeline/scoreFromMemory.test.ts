import assert from 'node:assert/strict';
import { test } from 'node:test';
import { featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { partialPrefix } from '../../../lib/pipeline/reducePrefixes';
import { RunContext } from '../../../lib/pipeline/runContext';
import type { RunSpecInput } from '../../../lib/pipeline/runSpec';
import { scoreShard } from '../../../lib/pipeline/scoreShard';
import { readManifest } from '../../../lib/store/commit';
import { NotFoundError, type ObjectStore } from '../../../lib/store/objectStore';
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

test('whether the queries are committed is asked once the shard is computed: queries committed meanwhile are scored against', async () => {
  const { store, plan, planKey, checkpoints } = await setup({ projector: { kind: 'none' } });
  const queryManifests = new Set(
    checkpoints.flatMap((c) =>
      plan.query.shards.map(
        (_, s) => `${new RunContext(store).featurePrefix(plan, 'query', s, c)}/MANIFEST.json`,
      ),
    ),
  );
  // The queries' manifests are not there until the shard's last chunk is computed (as when the
  // workflow featurizes the queries beside the first shards).
  let committed = false;
  const gated: ObjectStore = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'get') {
        return async (key: string) => {
          if (!committed && queryManifests.has(key)) throw new NotFoundError(target.uri, key);
          return target.get(key);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const ctx = new RunContext(gated);
  const task = { planKey, set: 'train' as const, shard: 0, checkpoints, score: true };
  let chunks = 0;
  const r = await featurizeShard(ctx, task, {
    chunkRows: 32,
    onChunk: (state) => {
      chunks++;
      if (state.checkpoint === checkpoints.length - 1) committed = true;
    },
  });
  assert.ok(chunks >= checkpoints.length * 3, `${chunks} chunks`);
  assert.equal(committed, true);
  assert.equal(r.scored, true);
  assert.ok(await readManifest(store, partialPrefix(plan.runPrefix, 0)));
});
