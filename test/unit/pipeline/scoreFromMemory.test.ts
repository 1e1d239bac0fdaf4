import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import { featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { partialPrefix } from '../../../lib/pipeline/reducePrefixes';
import { RunContext } from '../../../lib/pipeline/runContext';
import type { RunSpecInput } from '../../../lib/pipeline/runSpec';
import { scoreShard } from '../../../lib/pipeline/scoreShard';
import { readCommittedFile, readManifest } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { putJson } from '../../../lib/store/objectStore';
import { useTestBackend } from '../../support/backend';
import { makeTinyRun } from '../../support/tinyRun';

const SELF = { kind: 'influence', layers: 'last', curvature: 'kfac' } as const;

async function setup(change: Partial<RunSpecInput>) {
  await useTestBackend();
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-memscore-')));
  const spec = await makeTinyRun(store, 'p', {
    trainRows: 150,
    rowsPerPart: 100,
    activation: 'relu',
  });
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, { ...spec, shardSize: 100, ...change }, (k) => ctx.model(k));
  const planKey = `${plan.runPrefix}/plan.json`;
  await putJson(store, planKey, plan);
  ctx.rememberPlan(planKey, plan);
  const checkpoints = plan.checkpoints.map((_, c) => c);
  for (let s = 0; s < plan.query.shards.length; s++) {
    await featurizeShard(ctx, { planKey, set: 'query', shard: s, checkpoints });
  }
  return { store, ctx, plan, planKey, checkpoints };
}

/** Every file of a shard's committed score-step results, by name. */
async function scoreFiles(ctx: RunContext, prefix: string): Promise<Map<string, Buffer>> {
  const m = await readManifest(ctx.store, prefix);
  assert.ok(m, `${prefix} committed`);
  const out = new Map<string, Buffer>();
  for (const [name, f] of Object.entries(m.files)) {
    out.set(name, Buffer.from(await readCommittedFile(ctx.store, f)));
  }
  return out;
}

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
        expected.push(await scoreFiles(ctx, partialPrefix(plan.runPrefix, s)));
      }
    }
    const { ctx, plan, planKey, checkpoints } = await setup(change);
    for (let s = 0; s < plan.train.shards.length; s++) {
      const task = { planKey, set: 'train' as const, shard: s, checkpoints, score: true };
      const r = await featurizeShard(ctx, task);
      assert.equal(r.scored, true, `shard ${s} scored from memory`);
      assert.equal((await scoreShard(ctx, planKey, s)).cached, true);
      const got = await scoreFiles(ctx, partialPrefix(plan.runPrefix, s));
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
