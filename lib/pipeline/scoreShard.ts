import type { ExampleFeatures } from '../features';
import { type PhaseMarks, PhaseTimes } from '../phaseTimes';
import { readManifest, Transaction } from '../store/commit';
import { influenceSelfOf, putShardCurvature } from './curvatureReduce';
import type { FeatureFile } from './featureFile';
import { partialPrefix } from './reducePrefixes';
import { checkpointInfos, type RunContext } from './runContext';
import { scoreShardFeatures, writeShardScores } from './shardScores';
import type { Plan, ScoreResult } from './types';

/**
 * Scores one training shard against every query and commits its partial results; with the
 * influence self-score, also the shard's curvature partials (it holds the features already) and
 * the self-score's layers of its features.
 */
export async function scoreShard(
  ctx: RunContext,
  planKey: string,
  shardIndex: number,
  onProgress: () => void = () => {},
): Promise<ScoreResult> {
  const t0 = performance.now();
  const times = new PhaseTimes();
  const plan = await ctx.plan(planKey);
  const shard = plan.train.shards[shardIndex];
  if (!shard) throw new Error(`train has no shard ${shardIndex}`);
  const rows = shard.end - shard.start;
  if (await readManifest(ctx.store, partialPrefix(plan.runPrefix, shardIndex)))
    return { shard: shardIndex, rows, cached: true, seconds: 0 };
  times.mark('plan');
  // The checkpoints' files are fetched at once: the store serves them while this process waits.
  const C = plan.checkpoints.length;
  const fetched = Promise.all(
    Array.from({ length: C }, (_, c) => ctx.featureBytes(plan, 'train', shardIndex, c)),
  );
  // Awaited below; a failure before then (reading the queries) must not go unhandled.
  fetched.catch(() => {});
  const query = [];
  for (let c = 0; c < C; c++) query.push(await ctx.queryFeatures(plan, c, times));
  const bytes = await times.wait('fetch', fetched);
  onProgress();
  const train = await Promise.all(
    bytes.map((b, c) => ctx.decodeFeatures(plan, 'train', shardIndex, c, b)),
  );
  times.mark('decode');
  await scoreShardFiles(ctx, plan, shardIndex, train, query, times);
  return {
    shard: shardIndex,
    rows,
    cached: false,
    seconds: (performance.now() - t0) / 1000,
    ...times.toJSON(),
  };
}

/**
 * Scores a training shard's features (every checkpoint, as its feature files hold them) against
 * the queries and commits the shard's partial results, with the influence self-score's curvature
 * partials and kept layers. scoreShard reads the files for it; a featurize that computed every
 * checkpoint calls it with the features it still holds (lib/pipeline/scoreFromMemory.ts).
 */
export async function scoreShardFiles(
  ctx: RunContext,
  plan: Plan,
  shardIndex: number,
  train: FeatureFile[],
  query: ExampleFeatures[],
  times: PhaseMarks,
): Promise<void> {
  const shard = plan.train.shards[shardIndex];
  const scores = await scoreShardFeatures({
    method: plan.spec.method,
    query,
    train: train.map((f) => f.features),
    checkpoints: checkpointInfos(plan),
    topK: plan.spec.topK,
    offset: shard.offset,
  });
  times.mark('score');
  const files = writeShardScores(scores);
  times.mark('encode');
  const tx = new Transaction(ctx.store, partialPrefix(plan.runPrefix, shardIndex));
  // The scores go up while the curvature partials are computed.
  const written = Promise.all([
    tx.put('ranked.arrow', files.ranked),
    tx.put('examples.arrow', files.examples),
  ]);
  written.catch(() => {});
  if (influenceSelfOf(plan)) await putShardCurvature(plan, train, tx);
  times.mark('curvature');
  await times.wait('write', written);
  await tx.commit({ shard: shardIndex, rows: shard.end - shard.start });
  times.mark('commit');
}
