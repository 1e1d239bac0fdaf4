import {
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { FurtherTrainingActivities } from '../activities/furtherTraining';
import type { GoldJob, GoldPlan, GoldSummary } from '../lib/gold/goldJob';
import type { GoldJobInput } from '../lib/gold/goldJobSpec';
import { countRuns, runAt } from '../lib/gold/runPlan';
import { boundedForEach } from './boundedForEach';
import {
  DEFAULT_GOLD_RUN_HEARTBEAT_TIMEOUT,
  DEFAULT_GOLD_RUN_TIMEOUT,
  type GoldProgress,
  type GoldRunSchedule,
  goldControlActivity,
  goldProgressQuery,
  goldRunActivity,
  goldRunsChildId,
  runsDoneSignal,
} from './definitions';

export type { GoldProgress };

/** The further-training gold standard as a job: every (seed, example) run, then the average. */
export type FurtherTrainingInput = GoldJobInput;

/** One child's share of the runs: [start, end) of the job's run list (see lib/gold/runPlan). */
export interface FurtherTrainingRunsInput {
  job: GoldJob;
  plan: GoldPlan;
  trainRows: number;
  start: number;
  end: number;
  window: number;
  activity: GoldRunSchedule;
  /** Workflow to tell of progress (the parent). */
  reportTo?: string;
}

const control = proxyActivities<FurtherTrainingActivities>(goldControlActivity);

function planOf(input: FurtherTrainingInput): GoldPlan {
  return {
    ...(input.examples ? { examples: input.examples } : {}),
    seeds: input.seeds,
    mode: input.mode ?? { kind: 'remove' },
  };
}

function jobOf(input: FurtherTrainingInput): GoldJob {
  // Everything but the plan and how the runs are scheduled: a field added to the job schema
  // reaches the runs, and their content address, without being listed here.
  const {
    examples: _e,
    seeds: _s,
    mode: _m,
    window: _w,
    runsPerChild: _r,
    childWindow: _c,
    heartbeatTimeout: _h,
    runTimeout: _t,
    taskQueue: _q,
    resume: _z,
    ...job
  } = input;
  return {
    ...job,
    training: { ...job.training, optimizer: job.training.optimizer ?? { kind: 'sgd' } },
  };
}

/**
 * Validates the job, fans the runs out to child workflows (each a sliding window of run
 * activities), then averages over seeds and commits the gold standard under
 * <outputPrefix>/gold. Re-running a finished job returns its committed summary.
 */
export async function furtherTraining(input: FurtherTrainingInput): Promise<GoldSummary> {
  const job = jobOf(input);
  const plan = planOf(input);
  const progress: GoldProgress = {
    stage: 'prepare',
    runsDone: input.resume?.runsDone ?? 0,
    runsTotal: 0,
  };
  setHandler(goldProgressQuery, () => progress);
  setHandler(runsDoneSignal, (n: number) => {
    progress.runsDone += n;
  });

  let trainRows: number;
  if (input.resume) trainRows = input.resume.trainRows;
  else {
    const prep = await control.prepareGold({ job, plan });
    if (prep.completed) {
      progress.runsTotal = progress.runsDone = prep.runs;
      progress.stage = 'done';
      return prep.completed;
    }
    trainRows = prep.trainRows;
  }
  const total = countRuns(plan.examples?.length ?? trainRows, plan.seeds.length);
  progress.runsTotal = total;
  progress.stage = 'runs';

  const perChild = Math.max(1, input.runsPerChild ?? 500);
  const maxChildren = Math.max(1, input.childWindow ?? 4);
  const activity: GoldRunSchedule = {
    heartbeatTimeout: input.heartbeatTimeout ?? DEFAULT_GOLD_RUN_HEARTBEAT_TIMEOUT,
    runTimeout: input.runTimeout ?? DEFAULT_GOLD_RUN_TIMEOUT,
    ...(input.taskQueue ? { taskQueue: input.taskQueue } : {}),
  };
  const { workflowId } = workflowInfo();
  const window = Math.max(1, input.window ?? 8);
  const first = input.resume?.nextRun ?? 0;
  // A child is a range of runs: [first + k·perChild, first + (k+1)·perChild) ∩ [0, total).
  const children = Math.ceil((total - first) / perChild);
  const range = (k: number) => [first + k * perChild, Math.min(total, first + (k + 1) * perChild)];
  const stopped = await boundedForEach(
    0,
    children,
    maxChildren,
    (k) => {
      const [start, end] = range(k);
      return executeChild(furtherTrainingRuns, {
        workflowId: goldRunsChildId(workflowId, start, end),
        args: [{ job, plan, trainRows, start, end, window, activity, reportTo: workflowId }],
      });
    },
    // The children in flight finish (their runs count by signal), then this starts afresh.
    () => workflowInfo().continueAsNewSuggested,
  );
  if (stopped < children) {
    return continueAsNew<typeof furtherTraining>({
      ...input,
      resume: { nextRun: range(stopped)[0], runsDone: progress.runsDone, trainRows },
    });
  }
  // Signals can trail a child's completion; the count is only for display.
  progress.runsDone = total;

  progress.stage = 'reduce';
  const summary = await control.goldReduce({ job, plan, trainRows });
  progress.stage = 'done';
  return summary;
}

/**
 * A range of runs, at most `window` in flight; continues as new when its history grows, so a
 * child never nears Temporal's event limits whatever its range.
 */
export async function furtherTrainingRuns(input: FurtherTrainingRunsInput): Promise<number> {
  const { job, plan } = input;
  const { furtherTrainingRun } = proxyActivities<FurtherTrainingActivities>(
    goldRunActivity(input.activity),
  );
  const examples = plan.examples ?? Array.from({ length: input.trainRows }, (_, i) => i);
  const parent = input.reportTo ? getExternalWorkflowHandle(input.reportTo) : undefined;
  let unreported = 0;
  const report = async (force: boolean) => {
    if (parent && unreported > 0 && (force || unreported >= 10)) {
      const n = unreported;
      unreported = 0;
      await parent.signal(runsDoneSignal, n);
    }
  };
  const next = await boundedForEach(
    input.start,
    input.end,
    input.window,
    async (r) => {
      await furtherTrainingRun({ job, plan, run: runAt(examples, plan.seeds, plan.mode, r) });
      unreported++;
      await report(false);
    },
    () => workflowInfo().continueAsNewSuggested,
  );
  await report(true);
  if (next < input.end) {
    return continueAsNew<typeof furtherTrainingRuns>({ ...input, start: next });
  }
  return input.end - input.start;
}
