import type { ObjectStore } from '../store/objectStore';
import { buildPlan } from './buildPlan';
import { featurizeShard } from './featurizeShard';
import { reduceInProcess } from './reduceInProcess';
import { RunContext } from './runContext';
import type { RunSpecInput } from './runSpec';
import { scoreShard } from './scoreShard';
import { storePlan } from './storePlan';
import type { RunSummary } from './types';

/**
 * The whole attribution run in one process, with no Temporal: the reference the distributed
 * pipeline must reproduce exactly, and the way to run small jobs.
 */
export async function runInProcess(
  store: ObjectStore,
  spec: RunSpecInput,
  log: (msg: string) => void = () => {},
): Promise<RunSummary> {
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, spec, (key) => ctx.model(key));
  const planKey = await storePlan(store, plan);
  ctx.rememberPlan(planKey, plan);
  const checkpoints = plan.checkpoints.map((_, c) => c);
  for (let s = 0; s < plan.query.shards.length; s++) {
    await featurizeShard(ctx, { planKey, set: 'query', shard: s, checkpoints });
  }
  for (let s = 0; s < plan.train.shards.length; s++) {
    await featurizeShard(ctx, { planKey, set: 'train', shard: s, checkpoints });
    await scoreShard(ctx, planKey, s);
    log(`shard ${s + 1}/${plan.train.shards.length}`);
  }
  return reduceInProcess(ctx, planKey, log);
}
