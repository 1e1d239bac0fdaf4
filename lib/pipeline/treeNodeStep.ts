import { childRange } from '../reduce/reduceTree';
import { readManifest, Transaction } from '../store/commit';
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
  const t0 = performance.now();
  const plan = await ctx.plan(planKey);
  const prefix = prefixOf(plan);
  const [start, end] = childRange(runReduceLevels(plan), plan.spec.reduceGroup, level, node);
  if (await readManifest(ctx.store, prefix)) return stepResult(end - start, true, t0);
  const tx = new Transaction(ctx.store, prefix);
  const meta = await write(plan, tx, start, end);
  await tx.commit({ level, node, inputs: end - start, ...meta });
  return stepResult(end - start, false, t0);
}
