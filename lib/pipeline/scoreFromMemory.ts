/**
 * Scoring a training shard inside the featurize that computed it, from the features it still
 * holds (ShardTask.score): what the score step would do after fetching and decoding the shard's
 * feature files, on the same values bit for bit, without that fetch and decode (in bench:main, a
 * quarter of the workers' CPU time). The score step then finds the results committed.
 */
import type { Dataset } from '../data/dataset';
import type { ExampleFeatures } from '../features';
import type { PhaseTimes } from '../phaseTimes';
import { readManifest } from '../store/commit';
import type { FeatureFile, FeatureFileMeta } from './featureFile';
import type { FeaturizeHooks } from './featurizeShard';
import type { Shard } from './plan';
import { partialPrefix } from './reducePrefixes';
import type { RunContext } from './runContext';
import { scoreShardFiles } from './scoreShard';
import type { Plan, ShardTask } from './types';

/**
 * A checkpoint's features as its file will read back: the whole shard's rows (featurize writes
 * each chunk into them, so nothing is joined) and the file's meta.
 */
export interface KeptFeatures {
  /** Arrays leased from featureArrays.ts: valid until the featurize that kept them returns. */
  features?: ExampleFeatures;
  meta?: FeatureFileMeta;
}

/**
 * Whether this attempt keeps its shard's features to score it from memory (ShardTask.score): it
 * computes every checkpoint from the first row (nothing resumed or found committed), its files
 * store float32 (what the engine gave, so what they read back bit for bit; a float16 file is
 * rounded), and the shard's scores are not committed. Whether the queries' features are is asked
 * once the shard is computed (queriesCommitted): the attribute workflow featurizes the queries
 * beside the first shards.
 */
export async function canScoreFromMemory(
  ctx: RunContext,
  plan: Plan,
  task: ShardTask,
  computing: number,
  hooks: FeaturizeHooks,
): Promise<boolean> {
  if (!task.score || task.set !== 'train' || hooks.resume) return false;
  if (computing !== plan.checkpoints.length || plan.spec.projector.dtype === 'float16') {
    return false;
  }
  return !(await readManifest(ctx.store, partialPrefix(plan.runPrefix, task.shard)));
}

/** Whether every query shard's features are committed at every checkpoint. */
export async function queriesCommitted(ctx: RunContext, plan: Plan): Promise<boolean> {
  // The checks at once: each is a request.
  const manifests = await Promise.all(
    plan.checkpoints.flatMap((_, c) =>
      plan.query.shards.map((_, s) =>
        readManifest(ctx.store, ctx.featurePrefix(plan, 'query', s, c)),
      ),
    ),
  );
  return manifests.every((m) => m !== undefined);
}

/** A checkpoint's kept features as readFeatureFile would give them from its committed file. */
function keptFile(
  keep: KeptFeatures | undefined,
  part: Dataset,
  shard: Shard,
  checkpoint: number,
): FeatureFile {
  const { features, meta } = keep ?? {};
  if (!features || !meta) throw new Error(`checkpoint ${checkpoint}'s features were not kept`);
  if (keep) keep.features = undefined;
  return {
    ids: part.ids.slice(shard.start, shard.end),
    labels: part.labels.slice(shard.start, shard.end),
    features: { ...features, grads: { ...features.grads, layers: meta.layers } },
    meta,
  };
}

/** Scores the shard from its kept features at every checkpoint and commits the results. */
export async function scoreKept(
  ctx: RunContext,
  plan: Plan,
  shardIndex: number,
  kept: Map<number, KeptFeatures>,
  part: Dataset,
  times: PhaseTimes,
): Promise<void> {
  const shard = plan.train.shards[shardIndex];
  const train = plan.checkpoints.map((_, c) => keptFile(kept.get(c), part, shard, c));
  const marks = times.prefixed('score.');
  const query = [];
  for (let c = 0; c < plan.checkpoints.length; c++) {
    query.push(await ctx.queryFeatures(plan, c, marks));
  }
  await scoreShardFiles(ctx, plan, shardIndex, train, query, marks);
}
