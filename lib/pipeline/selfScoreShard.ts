import { readColumn, readTable, writeColumns } from '../arrow/columns';
import { PhaseTimes } from '../phaseTimes';
import { readCommitted, readManifest, Transaction } from '../store/commit';
import { selfScoresOverCheckpoints, unsketchedKind } from './curvatureKinds';
import { influenceSelfOf, readFactoredCurvature, selfFeatures } from './curvatureReduce';
import { selfPrefix } from './reducePrefixes';
import { checkpointInfos, type RunContext } from './runContext';
import type { Plan, ScoreResult } from './types';

export const SELF_FILE = 'self.arrow';

/**
 * One training shard's influence self-scores Σ_c η_c g_iᵀ(F_c + λ_c I)⁻¹g_i, given the run's
 * factored curvature (curvatureReduce.ts): the second pass over the stored features, one step per
 * shard so it runs on every worker. Checkpoints are added in order into zeros, as the in-memory
 * passes (influenceSelfPasses) do.
 */
export async function selfScoreShard(
  ctx: RunContext,
  planKey: string,
  shardIndex: number,
  onProgress: () => void = () => {},
): Promise<ScoreResult> {
  const t0 = performance.now();
  const times = new PhaseTimes();
  const plan = await ctx.plan(planKey);
  const self = influenceSelfOf(plan);
  if (!self) throw new Error(`run ${plan.runPrefix} has no influence self-score`);
  const shard = plan.train.shards[shardIndex];
  if (!shard) throw new Error(`train has no shard ${shardIndex}`);
  const rows = shard.end - shard.start;
  const prefix = selfPrefix(plan.runPrefix, shardIndex);
  if (await readManifest(ctx.store, prefix)) {
    return { shard: shardIndex, rows, cached: true, seconds: 0 };
  }
  times.mark('plan');
  // selfFeatures returns them sketched already (curvatureReduce.ts).
  const kind = unsketchedKind(self);
  const curvatures = await times.wait('curvature', readFactoredCurvature(ctx, plan));
  const checkpoints = checkpointInfos(plan);
  const feats = await times.wait('read', selfFeatures(ctx, plan, shardIndex, onProgress));
  const scores = await selfScoresOverCheckpoints(kind, feats, curvatures, checkpoints, onProgress);
  times.mark('score');
  const tx = new Transaction(ctx.store, prefix);
  await tx.put(SELF_FILE, writeColumns(rows, { self_influence: { values: scores } }));
  await tx.commit({ shard: shardIndex, rows });
  times.mark('commit');
  return {
    shard: shardIndex,
    rows,
    cached: false,
    seconds: (performance.now() - t0) / 1000,
    ...times.toJSON(),
  };
}

/** Shard `shardIndex`'s committed influence self-scores. */
export async function readShardSelfScores(
  ctx: RunContext,
  plan: Plan,
  shardIndex: number,
): Promise<Float64Array> {
  const prefix = selfPrefix(plan.runPrefix, shardIndex);
  const what = `${prefix}/${SELF_FILE}`;
  const table = readTable(await readCommitted(ctx.store, prefix, SELF_FILE), what);
  return readColumn<Float64Array>(table, 'self_influence', 'float64', what).values;
}
