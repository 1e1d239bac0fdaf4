import { readCommittedFiles } from '../store/commit';
import { influenceSelfOf } from './curvatureReduce';
import { ShardScoresConcat } from './reduce';
import { mergedPrefix, partialPrefix } from './reducePrefixes';
import type { RunContext } from './runContext';
import { readShardSelfScores } from './selfScoreShard';
import { readShardScores, type ShardScores, writeShardScores } from './shardScores';
import { treeNodeStep } from './treeNodeStep';
import type { Plan, ReduceStepResult } from './types';

/**
 * The results tree: each inner node merges at most `reduceGroup` consecutive nodes below it
 * (top-k lists merged, per-example vectors end to end) into one partial of the shard partials'
 * form, so the final step (reduceRun) reads at most `reduceGroup` partials whatever the shard
 * count. Order does not change a value here: top-k is a total order and no vector is summed.
 */
export async function readResultNode(
  ctx: RunContext,
  plan: Plan,
  level: number,
  node: number,
): Promise<ShardScores> {
  const prefix =
    level === 0 ? partialPrefix(plan.runPrefix, node) : mergedPrefix(plan.runPrefix, level, node);
  // The leaves' self-score column is TracIn's; the run ranks by the influence self-score.
  const influence = level === 0 && influenceSelfOf(plan) !== undefined;
  const [[ranked, examples], self] = await Promise.all([
    readCommittedFiles(ctx.store, prefix, ['ranked.arrow', 'examples.arrow']),
    influence ? readShardSelfScores(ctx, plan, node) : undefined,
  ]);
  const s = readShardScores(ranked, examples);
  if (self) {
    if (self.length !== s.rows) {
      throw new Error(`shard ${node}: ${self.length} self-scores for ${s.rows} rows`);
    }
    return { ...s, selfInfluence: self };
  }
  return s;
}

/**
 * Nodes [start, end) of `level`, in order, each passed to `add` as soon as it is read, the next
 * one read meanwhile: memory is the fold's and two nodes', whatever the group size.
 */
export async function foldNodes(
  ctx: RunContext,
  plan: Plan,
  level: number,
  start: number,
  end: number,
  add: (node: ShardScores) => void,
  onProgress: () => void,
): Promise<void> {
  const read = (j: number) => {
    const r = readResultNode(ctx, plan, level, j);
    // Awaited in turn; a failure read ahead must not count as unhandled before then.
    r.catch(() => {});
    return r;
  };
  let next = start < end ? read(start) : undefined;
  for (let j = start; j < end; j++) {
    const node = await (next as Promise<ShardScores>);
    next = j + 1 < end ? read(j + 1) : undefined;
    add(node);
    onProgress();
  }
}

/** Merges one inner node's children (a reduce-tree step); idempotent. */
export function mergeResultsNode(
  ctx: RunContext,
  planKey: string,
  level: number,
  node: number,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  return treeNodeStep(
    ctx,
    planKey,
    level,
    node,
    (plan) => mergedPrefix(plan.runPrefix, level, node),
    async (plan, tx, start, end) => {
      const concat = new ShardScoresConcat();
      await foldNodes(ctx, plan, level - 1, start, end, (s) => concat.add(s), onProgress);
      const merged = concat.finish();
      const files = writeShardScores(merged);
      await tx.put('ranked.arrow', files.ranked);
      await tx.put('examples.arrow', files.examples);
      return { rows: merged.rows };
    },
  );
}
