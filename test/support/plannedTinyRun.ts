import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../lib/pipeline/buildPlan';
import { featurizeShard } from '../../lib/pipeline/featurizeShard';
import { RunContext } from '../../lib/pipeline/runContext';
import type { RunSpecInput } from '../../lib/pipeline/runSpec';
import { readCommittedFile, readManifest } from '../../lib/store/commit';
import { FsStore } from '../../lib/store/fsStore';
import { putJson } from '../../lib/store/objectStore';
import { useTestBackend } from './backend';
import { makeTinyRun } from './tinyRun';

/**
 * A tiny ReLU run (makeTinyRun) on a fresh file store, planned in shards of 100 rows with the
 * spec changed by `change`, its plan stored and its queries featurized: what featurize and
 * score tests start from.
 */
export async function plannedTinyRun(trainRows: number, change: Partial<RunSpecInput>) {
  await useTestBackend();
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-planned-')));
  const spec = await makeTinyRun(store, 'p', { trainRows, rowsPerPart: 100, activation: 'relu' });
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

/** Every file of a committed prefix, by name. */
export async function committedFiles(
  ctx: RunContext,
  prefix: string,
): Promise<Map<string, Buffer>> {
  const m = await readManifest(ctx.store, prefix);
  assert.ok(m, `${prefix} committed`);
  const out = new Map<string, Buffer>();
  for (const [name, f] of Object.entries(m.files)) {
    out.set(name, Buffer.from(await readCommittedFile(ctx.store, f)));
  }
  return out;
}
