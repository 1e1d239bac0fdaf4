/**
 * Wall seconds of an attribute run's stages, read from its workflow history after the run: the
 * server's timestamps of the events that end each stage. Polling the progress query for them
 * cost the run itself: at a 200 ms poll, each query a workflow task on the server and the
 * workflow worker, bench:main took 0.4–1.0 s longer (BENCHMARKS.md, eleventh session).
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Progress } from '../lib/pipeline/types';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
export type HistoryEvent = NonNullable<History['events']>[number];

/** The stages, in order, as the attribute workflow's progress query names them. */
export const STAGES = [
  'plan',
  'featurize-queries',
  'shards',
  'curvature',
  'self-score',
  'reduce',
] as const satisfies readonly Progress['stage'][];

/** An event's time by the server's clock, in seconds. */
export function eventSeconds(ev: HistoryEvent): number {
  const t = ev.eventTime;
  if (!t) throw new Error(`history event ${ev.eventId} has no time`);
  return Number(t.seconds) + (t.nanos ?? 0) / 1e9;
}

/**
 * Each stage's seconds from the attribute workflow's own history (one run: it never continues
 * as new). A stage ends when its last step completes: the plan activity, the query featurizes,
 * the shard children, factorCurvature, the self-score children, and the workflow itself; a stage
 * the run skipped (no self-score; every stage after the plan of a run found committed) lasts 0.
 */
export function stageSeconds(events: HistoryEvent[]): Record<(typeof STAGES)[number], number> {
  const start = events[0];
  if (!start?.workflowExecutionStartedEventAttributes) {
    throw new Error('the history does not start with the workflow starting');
  }
  const activityType = new Map<string, string>();
  const childType = new Map<string, string>();
  // The last completion of each kind of step.
  const last: Record<string, number> = {};
  let done: number | undefined;
  for (const ev of events) {
    const id = String(ev.eventId);
    const scheduled = ev.activityTaskScheduledEventAttributes;
    if (scheduled) activityType.set(id, scheduled.activityType?.name ?? '');
    const initiated = ev.startChildWorkflowExecutionInitiatedEventAttributes;
    if (initiated) childType.set(id, initiated.workflowType?.name ?? '');
    const activity = ev.activityTaskCompletedEventAttributes;
    if (activity)
      last[activityType.get(String(activity.scheduledEventId)) ?? ''] = eventSeconds(ev);
    const child = ev.childWorkflowExecutionCompletedEventAttributes;
    if (child) last[childType.get(String(child.initiatedEventId)) ?? ''] = eventSeconds(ev);
    if (ev.workflowExecutionCompletedEventAttributes) done = eventSeconds(ev);
  }
  if (done === undefined) throw new Error('the workflow has not completed');
  const t0 = eventSeconds(start);
  // A run found committed returns after its plan: all of it is the plan stage.
  if (last.featurizeShard === undefined && last.attributeShards === undefined) last.planRun = done;
  // Where each stage ends; one that did not run ends where the one before it did.
  const ends = [
    last.planRun,
    last.featurizeShard,
    last.attributeShards,
    last.factorCurvature,
    last.selfScoreShards,
    done,
  ];
  const out = {} as Record<(typeof STAGES)[number], number>;
  let from = t0;
  STAGES.forEach((stage, i) => {
    const end = Math.max(from, ends[i] ?? from);
    out[stage] = Number((end - from).toFixed(3));
    from = end;
  });
  return out;
}
