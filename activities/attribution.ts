import { Context } from '@temporalio/activity';
import { buildPlan } from '../lib/pipeline/buildPlan';
import {
  factorRunCurvature,
  influenceSelfOf,
  sumCurvatureNode,
} from '../lib/pipeline/curvatureReduce';
import { type ChunkState, featurizeShard } from '../lib/pipeline/featurizeShard';
import { mergeResultsNode } from '../lib/pipeline/mergeResults';
import { reduceRun } from '../lib/pipeline/reduceRun';
import { RunContext } from '../lib/pipeline/runContext';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import { scoreShard } from '../lib/pipeline/scoreShard';
import { selfScoreShard } from '../lib/pipeline/selfScoreShard';
import { storePlan } from '../lib/pipeline/storePlan';
import type { PlanRef, RunSummary, ShardTask } from '../lib/pipeline/types';
import { readManifest } from '../lib/store/commit';
import type { ObjectStore } from '../lib/store/objectStore';
import { classifyFailures } from './failures';

export interface AttributionOptions {
  /** Featurize rows per chunk (resume point and heartbeat); default CHUNK_ROWS. */
  chunkRows?: number;
}

/** Thin Temporal adapters over lib/pipeline's stages. */
export function createAttributionActivities(store: ObjectStore, opts: AttributionOptions = {}) {
  const ctx = new RunContext(store);
  return {
    async planRun(input: RunSpecInput): Promise<PlanRef> {
      const plan = await classifyFailures(() => buildPlan(store, input, (key) => ctx.model(key)));
      const planKey = await classifyFailures(() => storePlan(store, plan));
      ctx.rememberPlan(planKey, plan);
      const done = await readManifest<RunSummary>(store, plan.runPrefix);
      return {
        planKey,
        runPrefix: plan.runPrefix,
        checkpoints: plan.checkpoints.length,
        trainShards: plan.train.shards.length,
        queryShards: plan.query.shards.length,
        trainRows: plan.train.rows,
        queryRows: plan.query.rows,
        limits: { window: plan.spec.window, shardsPerChild: plan.spec.shardsPerChild },
        reduce: {
          group: plan.spec.reduceGroup,
          influenceSelf: influenceSelfOf(plan) !== undefined,
        },
        completed: done?.meta,
      };
    },

    async featurizeShard(task: ShardTask) {
      const actx = Context.current();
      return classifyFailures(
        () =>
          featurizeShard(ctx, task, {
            resume: actx.info.heartbeatDetails as ChunkState | undefined,
            chunkRows: opts.chunkRows,
            onChunk: (state) => actx.heartbeat(state),
            cancelled: () =>
              actx.cancellationSignal.aborted
                ? (actx.cancellationSignal.reason ?? 'cancelled')
                : undefined,
          }),
        `${task.set} shard ${task.shard}, ${checkpointsLabel(task.checkpoints)}`,
      );
    },

    async scoreShard(args: { planKey: string; shard: number }) {
      const actx = Context.current();
      return classifyFailures(
        () => scoreShard(ctx, args.planKey, args.shard, () => actx.heartbeat()),
        `train shard ${args.shard}`,
      );
    },

    async selfScoreShard(args: { planKey: string; shard: number }) {
      const actx = Context.current();
      return classifyFailures(
        () => selfScoreShard(ctx, args.planKey, args.shard, () => actx.heartbeat()),
        `train shard ${args.shard} (influence self-score)`,
      );
    },

    /** A reduce-tree step: node `node` of inner level `level` of the curvature or results tree. */
    async reduceNode(args: {
      planKey: string;
      tree: 'curvature' | 'results';
      level: number;
      node: number;
    }) {
      const actx = Context.current();
      const step = args.tree === 'curvature' ? sumCurvatureNode : mergeResultsNode;
      return classifyFailures(
        () => step(ctx, args.planKey, args.level, args.node, () => actx.heartbeat()),
        `${args.tree} reduce level ${args.level} node ${args.node}`,
      );
    },

    async factorCurvature(planKey: string) {
      const actx = Context.current();
      return classifyFailures(() => factorRunCurvature(ctx, planKey, () => actx.heartbeat()));
    },

    async reduceRun(planKey: string) {
      const actx = Context.current();
      return classifyFailures(() => reduceRun(ctx, planKey, (s) => actx.heartbeat(s)));
    },
  };
}

/** "checkpoint 2", "checkpoints 0, 1, 2": what a featurize failure names. */
function checkpointsLabel(cs: number[]): string {
  return `checkpoint${cs.length === 1 ? '' : 's'} ${cs.join(', ')}`;
}
