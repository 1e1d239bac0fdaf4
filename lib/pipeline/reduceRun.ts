import { selectLayers } from '../methods/selectLayers';
import { readCommitted, readManifest, Transaction } from '../store/commit';
import { influenceSelfPasses } from './influenceSelfPasses';
import { RunReducer, topIndices, writeResults } from './reduce';
import { checkpointInfos, type RunContext } from './runContext';
import { DEFAULT_SELF_SCORE } from './runSpec';
import { partialPrefix } from './scoreShard';
import { readShardScores } from './shardScores';
import type { RunSummary } from './types';

/** Merges every shard's partial results and commits the run's manifest, last. */
export async function reduceRun(
  ctx: RunContext,
  planKey: string,
  onProgress: (shard: number) => void = () => {},
): Promise<RunSummary> {
  const { store } = ctx;
  const plan = await ctx.plan(planKey);
  const existing = await readManifest<RunSummary>(store, plan.runPrefix);
  if (existing) return existing.meta;
  const reducer = new RunReducer(plan.query.rows, plan.spec.topK, plan.train.rows);
  for (let s = 0; s < plan.train.shards.length; s++) {
    const prefix = partialPrefix(plan.runPrefix, s);
    reducer.add(
      readShardScores(
        await readCommitted(store, prefix, 'ranked.arrow'),
        await readCommitted(store, prefix, 'examples.arrow'),
      ),
    );
    onProgress(s);
  }
  const results = reducer.finish();
  const self = plan.spec.selfScore ?? DEFAULT_SELF_SCORE;
  if (self.kind === 'influence') {
    // The curvature needs every shard: two more passes over the stored training features.
    const shards = plan.train.shards;
    const scores = await influenceSelfPasses({
      parts: shards.length,
      checkpoints: checkpointInfos(plan),
      read: async (s, c) =>
        selectLayers((await ctx.features(plan, 'train', s, c)).features, self.layers),
      curvature: { relativeDamping: self.relativeDamping },
      curvatureKind: self.curvature,
      onPart: (_, s) => onProgress(s),
    });
    scores.forEach((v, s) => {
      results.selfInfluence.set(v, shards[s].offset);
    });
  }
  const files = writeResults(results);
  const tx = new Transaction(store, plan.runPrefix);
  const topk = await tx.put('topk.arrow', files.topk);
  const examples = await tx.put('examples.arrow', files.examples);
  const top = topIndices(results.selfInfluence, Math.min(100, plan.train.rows));
  const summary: RunSummary = {
    runPrefix: plan.runPrefix,
    manifestKey: `${plan.runPrefix}/MANIFEST.json`,
    method: plan.spec.method,
    trainRows: plan.train.rows,
    queryRows: plan.query.rows,
    checkpoints: plan.checkpoints.length,
    topK: plan.spec.topK,
    files: { topk: topk.key, examples: examples.key, plan: planKey },
    selfScore: self.kind,
    ...(plan.warnings ? { warnings: plan.warnings } : {}),
    topSelfInfluence: top.map((i) => ({ id: i, score: results.selfInfluence[i] })),
  };
  return (await tx.commit(summary)).meta;
}
