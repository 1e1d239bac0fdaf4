import { reduceLevels } from '../reduce/reduceTree';
import type { Plan } from './types';

/**
 * Where a run's reduce keeps its steps' outputs, all under the run's content-addressed prefix:
 * a shard's partial results (scores, and its curvature partials), its influence self-scores, and
 * the inner nodes of the two reduce trees (curvature sums, merged results); and the trees' shape.
 */
const pad = (n: number) => String(n).padStart(6, '0');

/** Shard `shard`'s score partials (ranked lists, per-example vectors, curvature partials). */
export const partialPrefix = (runPrefix: string, shard: number) =>
  `${runPrefix}/partials/${pad(shard)}`;

/** Shard `shard`'s influence self-scores. */
export const selfPrefix = (runPrefix: string, shard: number) => `${runPrefix}/self/${pad(shard)}`;

/** Node `node` of the curvature tree's `level` (level 0: the shard's score partial). */
export const curvatureNodePrefix = (runPrefix: string, level: number, node: number) =>
  level === 0 ? partialPrefix(runPrefix, node) : `${runPrefix}/curvature/L${level}/${pad(node)}`;

/** The factored curvature, one per checkpoint. */
export const factoredPrefix = (runPrefix: string) => `${runPrefix}/curvature/factored`;

/** Node `node` of the results tree's inner `level` ≥ 1 (merged ranked lists and vectors). */
export const mergedPrefix = (runPrefix: string, level: number, node: number) =>
  `${runPrefix}/merged/L${level}/${pad(node)}`;

/** The node counts of the run's reduce trees, shards first (lib/reduce/reduceTree.ts). */
export const runReduceLevels = (plan: Plan) =>
  reduceLevels(plan.train.shards.length, plan.spec.reduceGroup);
