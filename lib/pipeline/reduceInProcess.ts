import { readManifest } from '../store/commit';
import { factorRunCurvature, influenceSelfOf, sumCurvatureNode } from './curvatureReduce';
import { mergeResultsNode } from './mergeResults';
import { runReduceLevels } from './reducePrefixes';
import { reduceRun } from './reduceRun';
import type { RunContext } from './runContext';
import { selfScoreShard } from './selfScoreShard';
import type { RunSummary } from './types';

/**
 * Every reduce step of a run whose shards are scored, one after another in this process: the
 * steps the attribute workflow fans out (workflows/attribute.ts), in an order they allow. With
 * the influence self-score: the curvature tree level by level, its factoring, each shard's
 * self-scores; then the results tree level by level and the final merge and commit.
 */
export async function reduceInProcess(
  ctx: RunContext,
  planKey: string,
  log: (msg: string) => void = () => {},
): Promise<RunSummary> {
  const plan = await ctx.plan(planKey);
  const done = await readManifest<RunSummary>(ctx.store, plan.runPrefix);
  if (done) return done.meta;
  const levels = runReduceLevels(plan);
  if (influenceSelfOf(plan)) {
    for (let l = 1; l < levels.length; l++) {
      for (let j = 0; j < levels[l]; j++) await sumCurvatureNode(ctx, planKey, l, j);
    }
    await factorRunCurvature(ctx, planKey);
    log('curvature factored');
    for (let s = 0; s < levels[0]; s++) await selfScoreShard(ctx, planKey, s);
    log(`self-scores of ${levels[0]} shards`);
  }
  for (let l = 1; l < levels.length; l++) {
    for (let j = 0; j < levels[l]; j++) await mergeResultsNode(ctx, planKey, l, j);
  }
  return reduceRun(ctx, planKey);
}
