/**
 * Everything about the workflows that is not their code, defined once and imported by the
 * workflows, the CLI, the workers and the benchmarks: signals and queries with the state they
 * carry, retry policies, activity timeouts and heartbeat defaults, and the ids of child
 * workflows. Workflow code imports this file, so it imports only '@temporalio/workflow' and
 * types: it is bundled into Temporal's deterministic sandbox.
 */
import type { Duration, RetryPolicy } from '@temporalio/common';
import { type ActivityOptions, defineQuery, defineSignal } from '@temporalio/workflow';
import type { Progress } from '../lib/pipeline/types';

export type { Progress };

// --- Signals and queries -------------------------------------------------------------------

/** The attribute workflow's stage and counts (cli/progress.ts shows them). */
export const progressQuery = defineQuery<Progress>('progress');
/** Sent by attributeShards children as each shard finishes: its row count. */
export const shardDoneSignal = defineSignal<[number]>('shardDone');
/**
 * Sent by the attribute workflow to the attributeShards children it started while the queries
 * were being featurized, once their features are committed.
 */
export const queriesCommittedSignal = defineSignal('queriesCommitted');
/** The patch under which attribute featurizes the queries beside the first shards. */
export const QUERIES_BESIDE_SHARDS = 'queries-beside-shards';

export interface AuditProgress {
  /** 'parts': the parts' content-addressed self-score steps; 'curvature', 'self-score': influence. */
  stage: 'plan' | 'featurize' | 'parts' | 'curvature' | 'self-score' | 'folds' | 'report' | 'done';
  pending: number;
  featurized: number;
  reused: number;
  /** Parts (shards of batches) ranked, and those whose self-score part step was to compute. */
  parts?: number;
  partsPending?: number;
}
export const auditProgressQuery = defineQuery<AuditProgress>('auditProgress');

export interface GoldProgress {
  stage: 'prepare' | 'runs' | 'reduce' | 'done';
  runsDone: number;
  runsTotal: number;
}
/** Runs trained (or found committed) so far, out of all the gold job needs. */
export const goldProgressQuery = defineQuery<GoldProgress>('goldProgress');
/** Sent by each furtherTrainingRuns child as its runs finish: how many more are done. */
export const runsDoneSignal = defineSignal<[number]>('runsDone');

// --- Retry policies ------------------------------------------------------------------------

/**
 * Failure types no retry can fix: the activities turn bad specs and inputs into these
 * (activities/failures.ts), and the server fails the workflow at once.
 */
export const NON_RETRYABLE_ERROR_TYPES = ['SpecError', 'InputError'];

/** Planning, reducing, reporting and bookkeeping: a few tries. */
export const controlRetry: RetryPolicy = {
  maximumAttempts: 10,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};
/** Featurize and score: more tries, since every worker crash or timeout costs one. */
export const shardRetry: RetryPolicy = {
  maximumAttempts: 20,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};
/** Trainings that resume from their own saved state: retried soon after a crash. */
export const resumableRetry: RetryPolicy = { ...shardRetry, initialInterval: '1 second' };
/** A gold run resumes from its saved state; it is retried until it finishes or its input fails. */
export const goldRunRetry: RetryPolicy = {
  initialInterval: '1 second',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

// --- Timeouts and activity options ---------------------------------------------------------

/**
 * How long an activity may go without a heartbeat before the server retries it elsewhere (a
 * killed worker is noticed this late). Inputs may shorten it; tests use seconds.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT: Duration = '2 minutes';
/** An audit fold's training (resumes from its latest checkpoint when retried). */
export const DEFAULT_FOLD_HEARTBEAT_TIMEOUT: Duration = '1 minute';
/** A gold run's heartbeat and its whole training's timeout, unless the job sets them. */
export const DEFAULT_GOLD_RUN_HEARTBEAT_TIMEOUT: Duration = '1 minute';
export const DEFAULT_GOLD_RUN_TIMEOUT: Duration = '12 hours';

const onQueue = (taskQueue: string | undefined) => (taskQueue ? { taskQueue } : {});

/** The attribute run's plan and reduce. */
export const runControlActivity = (heartbeatTimeout: Duration): ActivityOptions => ({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout,
  retry: controlRetry,
});

/** Featurize and score one shard (on `taskQueue` when given, else the workflow's). */
export const shardActivity = (heartbeatTimeout: Duration, taskQueue?: string): ActivityOptions => ({
  ...onQueue(taskQueue),
  startToCloseTimeout: '2 hours',
  heartbeatTimeout,
  retry: shardRetry,
});

/** The audit's plan, raw imports and report. */
export const auditControlActivity: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: DEFAULT_HEARTBEAT_TIMEOUT,
  retry: controlRetry,
};

/** One out-of-fold model of an audit. */
export const auditFoldActivity = (
  heartbeatTimeout: Duration,
  taskQueue: string,
): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '24 hours',
  heartbeatTimeout,
  retry: resumableRetry,
});

/** The evaluate workflow's one activity. */
export const evaluateActivity: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  retry: controlRetry,
};

/** The gold job's prepare and reduce. */
export const goldControlActivity: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
  retry: controlRetry,
};

/** How a gold job's runs are scheduled: passed from the parent to its children. */
export interface GoldRunSchedule {
  heartbeatTimeout: string;
  runTimeout: string;
  taskQueue?: string;
}

/** One gold run (one training from the final model). */
export const goldRunActivity = (s: GoldRunSchedule): ActivityOptions => ({
  startToCloseTimeout: s.runTimeout,
  heartbeatTimeout: s.heartbeatTimeout,
  retry: goldRunRetry,
  ...onQueue(s.taskQueue),
});

/** The smoke workflow's write and read. */
export const smokeActivity: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
};

// --- Child workflows -----------------------------------------------------------------------

/** Child workflows (shard ranges) of an attribute run in flight at once. */
export const MAX_SHARD_CHILDREN = 8;

/** The attribute run's children: ranges [start, end) of `shardsPerChild` training shards. */
export function shardRanges(trainShards: number, shardsPerChild: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let s = 0; s < trainShards; s += shardsPerChild) {
    ranges.push([s, Math.min(trainShards, s + shardsPerChild)]);
  }
  return ranges;
}

/** The id of the attributeShards child that runs the shards from `firstShard`. */
export const shardsChildId = (parentId: string, firstShard: number) =>
  `${parentId}-shards-${firstShard}`;

/** The id of the selfScoreShards child that scores the shards from `firstShard`. */
export const selfScoreChildId = (parentId: string, firstShard: number) =>
  `${parentId}-self-${firstShard}`;

/** Parts per auditParts child workflow: bounds the audit's and every child's history. */
export const PARTS_PER_CHILD = 100;

/** The id of the auditParts child that runs `step` for the parts from list index `first`. */
export const auditPartsChildId = (parentId: string, step: string, first: number) =>
  `${parentId}-${step}-${first}`;

/** The id of the furtherTrainingRuns child that runs the gold job's runs [start, end). */
export const goldRunsChildId = (parentId: string, start: number, end: number) =>
  `${parentId}/runs-${start}-${end}`;
