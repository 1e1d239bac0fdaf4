import { Context } from '@temporalio/activity';
import { buildPlan } from '../lib/pipeline/buildPlan';
import { type ChunkState, featurizeShard } from '../lib/pipeline/featurizeShard';
import { reduceRun } from '../lib/pipeline/reduceRun';
import { RunContext } from '../lib/pipeline/runContext';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import { scoreShard } from '../lib/pipeline/scoreShard';
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
        `${task.set} shard ${task.shard}, checkpoint ${task.checkpoint}`,
      );
    },

    async scoreShard(args: { planKey: string; shard: number }) {
      const actx = Context.current();
      return classifyFailures(
        () => scoreShard(ctx, args.planKey, args.shard, () => actx.heartbeat()),
        `train shard ${args.shard}`,
      );
    },

    async reduceRun(planKey: string) {
      const actx = Context.current();
      return classifyFailures(() => reduceRun(ctx, planKey, (s) => actx.heartbeat(s)));
    },
  };
}
