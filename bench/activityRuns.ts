/**
 * Which worker ran each activity of a workflow history, and when (the server's clock): what
 * bench:main reads to show each worker's cold first shard beside its later ones in the same run.
 */
import { eventSeconds, type HistoryEvent } from './stageSeconds';

/**
 * One completed activity: its type, the worker that ran it, when it started and ended, and its
 * JSON result ({} when it returned none).
 */
export interface ActivityRun {
  type: string;
  worker: string;
  start: number;
  end: number;
  result: Record<string, unknown>;
}

/** The completed activities of one history, in the order they completed. */
export function activityRuns(events: HistoryEvent[]): ActivityRun[] {
  const scheduled = new Map<string, string>();
  const started = new Map<string, { worker: string; start: number }>();
  const runs: ActivityRun[] = [];
  for (const ev of events) {
    const s = ev.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(ev.eventId), s.activityType?.name ?? '?');
    const st = ev.activityTaskStartedEventAttributes;
    if (st) {
      started.set(String(st.scheduledEventId), {
        worker: st.identity ?? '?',
        start: eventSeconds(ev),
      });
    }
    const c = ev.activityTaskCompletedEventAttributes;
    const run = c && started.get(String(c.scheduledEventId));
    if (c && run) {
      const data = c.result?.payloads?.[0]?.data;
      runs.push({
        type: scheduled.get(String(c.scheduledEventId)) ?? '?',
        ...run,
        end: eventSeconds(ev),
        result: data ? JSON.parse(Buffer.from(data).toString('utf8')) : {},
      });
    }
  }
  return runs;
}

/**
 * Seconds of each worker's activities of `type`, each worker's in the order it started them (to
 * 10 ms); workers in the order of their first such activity.
 */
export function secondsByWorker(runs: ActivityRun[], type: string): number[][] {
  const byWorker = new Map<string, number[]>();
  const ofType = runs.filter((r) => r.type === type).sort((a, b) => a.start - b.start);
  for (const r of ofType) {
    const seconds = byWorker.get(r.worker) ?? [];
    seconds.push(Number((r.end - r.start).toFixed(2)));
    byWorker.set(r.worker, seconds);
  }
  return [...byWorker.values()];
}
