import type { Duration } from '@temporalio/common';
import {
  executeChild,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import type { PlanRef, Progress, RunSummary } from '../lib/pipeline/types';
import { reduceLevels } from '../lib/reduce/reduceTree';
import { attributeShards } from './attributeShards';
import { boundedForEach } from './boundedForEach';
import {
  DEFAULT_HEARTBEAT_TIMEOUT,
  MAX_SHARD_CHILDREN,
  progressQuery,
  QUERIES_BESIDE_SHARDS,
  queriesCommittedSignal,
  runControlActivity,
  selfScoreChildId,
  shardActivity,
  shardDoneSignal,
  shardRanges,
  shardsChildId,
} from './definitions';
import { selfScoreShards } from './selfScoreShards';

export interface AttributeInput {
  spec: RunSpecInput;
  /** Task queue for featurize (a GPU queue when a GPU worker polls it); defaults to the parent's. */
  featurizeQueue?: string;
  /**
   * How long an activity may go without a heartbeat before the server retries it elsewhere (a
   * killed worker is noticed this late). Default DEFAULT_HEARTBEAT_TIMEOUT; tests use seconds.
   */
  heartbeatTimeout?: Duration;
}

/**
 * The attribution run: plan shards, featurize the queries per checkpoint and, beside them, fan
 * the training shards out to child workflows (each featurizes and scores its range with a sliding
 * window), reduce the partial results as trees of small steps on every worker (with the influence
 * self-score: sum the shards' curvature partials, factor once, score each shard in children
 * again), commit the run's manifest last.
 */
export async function attribute(input: AttributeInput): Promise<RunSummary> {
  const startedAt = Date.now();
  const progress: Progress = {
    stage: 'plan',
    shardsDone: 0,
    shardsTotal: 0,
    examplesDone: 0,
    examplesTotal: 0,
    examplesPerSecond: 0,
  };
  setHandler(progressQuery, () => progress);
  setHandler(shardDoneSignal, (rows: number) => {
    progress.shardsDone++;
    progress.examplesDone += rows;
    progress.examplesPerSecond =
      progress.examplesDone / Math.max(1e-3, (Date.now() - startedAt) / 1000);
  });

  const heartbeatTimeout = input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
  const { planRun, reduceRun, reduceNode, factorCurvature } = proxyActivities<Activities>(
    runControlActivity(heartbeatTimeout),
  );
  const plan: PlanRef = await planRun(input.spec);
  if (plan.completed) {
    progress.stage = 'done';
    return plan.completed;
  }
  progress.shardsTotal = plan.trainShards;
  progress.examplesTotal = plan.trainRows;

  const queue = input.featurizeQueue ?? workflowInfo().taskQueue;
  const featurize = proxyActivities<Activities>(
    shardActivity(heartbeatTimeout, queue),
  ).featurizeShard;

  progress.stage = 'featurize-queries';
  const checkpoints = Array.from({ length: plan.checkpoints }, (_, c) => c);
  const queryTasks = [];
  for (let s = 0; s < plan.queryShards; s++) {
    queryTasks.push(featurize({ planKey: plan.planKey, set: 'query', shard: s, checkpoints }));
  }
  // The shards start beside the queries' featurize, so no worker waits for it (it took 0.4-0.5 s
  // of bench:main with one of two workers idle; all but one of many workers gain that). A shard
  // computed before the queries are committed is scored by its score step, once its child is
  // told they are (queriesCommittedSignal).
  const beside = patched(QUERIES_BESIDE_SHARDS);
  let queriesDone = false;
  const queries = Promise.all(queryTasks).then(() => {
    queriesDone = true;
  });
  if (!beside) await queries;

  progress.stage = 'shards';
  const spec = plan.limits;
  const ranges = shardRanges(plan.trainShards, spec.shardsPerChild);
  const waiting: string[] = [];
  // Children started while the queries were featurized, told once they are committed (a child
  // that finished meanwhile is not there to tell).
  const told = queries.then(() =>
    Promise.all(
      waiting.map((id) =>
        getExternalWorkflowHandle(id)
          .signal(queriesCommittedSignal)
          .catch(() => {}),
      ),
    ),
  );
  // A bounded number of children at once keeps pending work (and this history) small; the first
  // child to fail fails the run at once with its error.
  const children = boundedForEach(0, ranges.length, MAX_SHARD_CHILDREN, (r) => {
    const workflowId = shardsChildId(workflowInfo().workflowId, ranges[r][0]);
    if (!queriesDone) waiting.push(workflowId);
    return executeChild(attributeShards, {
      workflowId,
      args: [
        {
          planKey: plan.planKey,
          start: ranges[r][0],
          end: ranges[r][1],
          window: spec.window,
          featurizeQueue: queue,
          checkpoints: plan.checkpoints,
          heartbeatTimeout,
          ...(queriesDone ? {} : { queriesPending: true }),
        },
      ],
    });
  });
  await Promise.all([told, children]);
  // Signals can trail the children's completion; the counts are only for display.
  progress.shardsDone = plan.trainShards;
  progress.examplesDone = plan.trainRows;

  // The reduce trees' inner levels (lib/reduce/reduceTree.ts), each level's steps in parallel.
  const levels = reduceLevels(plan.trainShards, plan.reduce.group);
  const innerLevels = async (tree: 'curvature' | 'results') => {
    for (let level = 1; level < levels.length; level++) {
      await boundedForEach(0, levels[level], spec.window, (node) =>
        reduceNode({ planKey: plan.planKey, tree, level, node }),
      );
    }
  };
  if (plan.reduce.influenceSelf) {
    progress.stage = 'curvature';
    await innerLevels('curvature');
    await factorCurvature(plan.planKey);
    progress.stage = 'self-score';
    await boundedForEach(0, ranges.length, MAX_SHARD_CHILDREN, (r) =>
      executeChild(selfScoreShards, {
        workflowId: selfScoreChildId(workflowInfo().workflowId, ranges[r][0]),
        args: [
          {
            planKey: plan.planKey,
            start: ranges[r][0],
            end: ranges[r][1],
            window: spec.window,
            heartbeatTimeout,
          },
        ],
      }),
    );
  }

  progress.stage = 'reduce';
  await innerLevels('results');
  const summary = await reduceRun(plan.planKey);
  progress.stage = 'done';
  return summary;
}
