import { childRange } from '../reduce/reduceTree';
import { readManifest, Transaction } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { runReduceLevels } from './reducePrefixes';
import type { RunContext } from './runContext';
import type { Plan, ReduceStepResult } from './types';

/** A reduce step's result: how many inputs it read, and its time unless it was cached. */
export function stepResult(inputs: number, cached: boolean, t0: number): ReduceStepResult {
  return { inputs, cached, seconds: cached ? 0 : (performance.now() - t0) / 1000 };
}

/**
 * One inner node of a reduce tree as an idempotent step, shared by the curvature and results
 * trees: skipped when its prefix is committed, else `write` folds children [start, end) of the
 * level below into the transaction and returns the manifest's extra fields.
 */
export async function treeNodeStep(
  ctx: RunContext,
  planKey: string,
  level: number,
  node: number,
  prefixOf: (plan: Plan) => string,
  write: (plan: Plan, tx: Transaction, start: number, end: number) => Promise<object>,
): Promise<ReduceStepResult> {
  const plan = await ctx.plan(planKey);
  return treeNode(
    ctx.store,
    { levels: runReduceLevels(plan), group: plan.spec.reduceGroup },
    level,
    node,
    prefixOf(plan),
    (tx, start, end) => write(plan, tx, start, end),
  );
}

/** The same step for a tree of any shape (an audit's, whose leaves are not one run's shards). */
export async function treeNode(
  store: ObjectStore,
  tree: { levels: number[]; group: number },
  level: number,
  node: number,
  prefix: string,
  write: (tx: Transaction, start: number, end: number) => Promise<object>,
): Promise<ReduceStepResult> {
  const t0 = performance.now();
  const [start, end] = childRange(tree.levels, tree.group, level, node);
  if (await readManifest(store, prefix)) return stepResult(end - start, true, t0);
  const tx = new Transaction(store, prefix);
  const meta = await write(tx, start, end);
  await tx.commit({ level, node, inputs: end - start, ...meta });
  return stepResult(end - start, false, t0);
}
