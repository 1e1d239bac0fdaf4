import { topIndices } from '../reduce/topK';
import { readManifest, Transaction } from '../store/commit';
import { influenceSelfOf } from './curvatureReduce';
import { foldNodes } from './mergeResults';
import { RunReducer, writeResults } from './reduce';
import { runReduceLevels } from './reducePrefixes';
import type { RunContext } from './runContext';
import type { RunSummary } from './types';

/**
 * The results tree's last step: merges the top level's partials (at most `reduceGroup`: the
 * shards themselves in a run of few shards) and commits the run's manifest, last.
 */
export async function reduceRun(
  ctx: RunContext,
  planKey: string,
  onProgress: (node: number) => void = () => {},
): Promise<RunSummary> {
  const { store } = ctx;
  const plan = await ctx.plan(planKey);
  const existing = await readManifest<RunSummary>(store, plan.runPrefix);
  if (existing) return existing.meta;
  const levels = runReduceLevels(plan);
  const top = levels.length - 1;
  const reducer = new RunReducer(plan.query.rows, plan.spec.topK, plan.train.rows);
  let node = 0;
  await foldNodes(
    ctx,
    plan,
    top,
    0,
    levels[top],
    (part) => reducer.add(part),
    () => onProgress(node++),
  );
  const results = reducer.finish();
  const files = writeResults(results);
  const tx = new Transaction(store, plan.runPrefix);
  const topk = await tx.put('topk.arrow', files.topk);
  const examples = await tx.put('examples.arrow', files.examples);
  const top100 = topIndices(results.selfInfluence, Math.min(100, plan.train.rows));
  const summary: RunSummary = {
    runPrefix: plan.runPrefix,
    manifestKey: `${plan.runPrefix}/MANIFEST.json`,
    method: plan.spec.method,
    trainRows: plan.train.rows,
    queryRows: plan.query.rows,
    checkpoints: plan.checkpoints.length,
    topK: plan.spec.topK,
    files: { topk: topk.key, examples: examples.key, plan: planKey },
    selfScore: influenceSelfOf(plan) ? 'influence' : 'tracin',
    ...(plan.warnings ? { warnings: plan.warnings } : {}),
    topSelfInfluence: top100.map((i) => ({ id: i, score: results.selfInfluence[i] })),
  };
  return (await tx.commit(summary)).meta;
}
