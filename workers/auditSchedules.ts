import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import { type AuditInput, parseAuditInput } from '../lib/audit/auditSpec';
import { type AuditWorkflowInput, audit as auditWorkflow } from '../workflows/audit';

/**
 * Nightly audits as Temporal Schedules, one per audit name (`audit-<name>`): create, list, pause,
 * unpause, trigger, delete. Client-side only; `tda audit ...` calls these.
 */
export const AUDIT_SCHEDULE_PREFIX = 'audit-';

export function auditScheduleId(name: string): string {
  return `${AUDIT_SCHEDULE_PREFIX}${name}`;
}

export interface AuditScheduleOptions {
  audit: AuditInput;
  /** Cron expressions, e.g. '0 2 * * *' (02:00 every night). */
  cron: string | string[];
  taskQueue: string;
  featurizeQueue?: string;
  timezone?: string;
  /** How late a missed run (server down) may still start; default one day. */
  catchupWindow?: string;
  paused?: boolean;
  note?: string;
}

export interface AuditScheduleInfo {
  name: string;
  scheduleId: string;
  cron: string[];
  paused: boolean;
  note?: string;
  data: string;
  checkpoints: string;
  nextRuns: string[];
  /** Audits started so far, oldest first (Temporal keeps the last few). */
  recent: { workflowId: string; runId: string; scheduledAt: string }[];
  running: { workflowId: string; runId: string }[];
  actionsTaken: number;
}

/** Creates the schedule; an existing one of the same name is an error (delete it first). */
export async function createAuditSchedule(
  client: Client,
  opts: AuditScheduleOptions,
): Promise<string> {
  const audit = parseAuditInput(opts.audit);
  const cron = Array.isArray(opts.cron) ? opts.cron : [opts.cron];
  if (cron.length === 0 || cron.some((c) => c.trim().split(/\s+/).length < 5)) {
    throw new Error(`cron: expected expressions like "0 2 * * *", got ${JSON.stringify(cron)}`);
  }
  const scheduleId = auditScheduleId(audit.name);
  const args: [AuditWorkflowInput] = [{ audit: opts.audit, featurizeQueue: opts.featurizeQueue }];
  try {
    await client.schedule.create({
      scheduleId,
      spec: { cronExpressions: cron, timezone: opts.timezone },
      action: {
        type: 'startWorkflow',
        workflowType: auditWorkflow,
        // The schedule appends each run's time to this id.
        workflowId: scheduleId,
        taskQueue: opts.taskQueue,
        args,
      },
      // A night's audit still running when the next is due: skip the next, never pile up.
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        catchupWindow: opts.catchupWindow ?? '1 day',
      },
      state: { paused: opts.paused ?? false, note: opts.note },
      memo: { cron, data: audit.data, checkpoints: audit.checkpoints },
    });
  } catch (e) {
    if (e instanceof ScheduleAlreadyRunning) {
      throw new Error(`an audit schedule named "${audit.name}" exists already (${scheduleId})`);
    }
    throw e;
  }
  return scheduleId;
}

async function handleOf(client: Client, name: string) {
  const handle = client.schedule.getHandle(auditScheduleId(name));
  try {
    return { handle, description: await handle.describe() };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) {
      throw new Error(`no audit schedule named "${name}" (${auditScheduleId(name)})`);
    }
    throw e;
  }
}

export async function describeAuditSchedule(
  client: Client,
  name: string,
): Promise<AuditScheduleInfo> {
  const { description: d } = await handleOf(client, name);
  const memo = (d.memo ?? {}) as { cron?: string[]; data?: string; checkpoints?: string };
  return {
    name,
    scheduleId: d.scheduleId,
    cron: memo.cron ?? [],
    paused: d.state.paused,
    note: d.state.note,
    data: memo.data ?? '',
    checkpoints: memo.checkpoints ?? '',
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recent: d.info.recentActions.map((a) => ({
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
      scheduledAt: a.scheduledAt.toISOString(),
    })),
    running: d.info.runningActions.map((a) => ({
      workflowId: a.workflow.workflowId,
      runId: a.workflow.firstExecutionRunId,
    })),
    actionsTaken: d.info.numActionsTaken,
  };
}

export async function listAuditSchedules(client: Client): Promise<AuditScheduleInfo[]> {
  const names: string[] = [];
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(AUDIT_SCHEDULE_PREFIX)) {
      names.push(s.scheduleId.slice(AUDIT_SCHEDULE_PREFIX.length));
    }
  }
  const out = [];
  for (const name of names.sort()) {
    try {
      out.push(await describeAuditSchedule(client, name));
    } catch {
      // Deleted between list and describe (the list is eventually consistent).
    }
  }
  return out;
}

export async function pauseAuditSchedule(client: Client, name: string, note?: string) {
  await (await handleOf(client, name)).handle.pause(note ?? 'paused by tda audit pause');
}

export async function unpauseAuditSchedule(client: Client, name: string, note?: string) {
  await (await handleOf(client, name)).handle.unpause(note ?? 'unpaused by tda audit unpause');
}

/**
 * Starts an audit now (after the running one, if any). With `wait`, returns the started
 * workflow's id and run id once the schedule has started it.
 */
export async function triggerAuditSchedule(
  client: Client,
  name: string,
  opts: { waitStartMs?: number } = {},
): Promise<{ workflowId: string; runId: string } | undefined> {
  const { handle, description } = await handleOf(client, name);
  const before = description.info.numActionsTaken;
  await handle.trigger(ScheduleOverlapPolicy.BUFFER_ONE);
  if (!opts.waitStartMs) return undefined;
  const deadline = Date.now() + opts.waitStartMs;
  while (Date.now() < deadline) {
    const d = await handle.describe();
    if (d.info.numActionsTaken > before && d.info.recentActions.length > 0) {
      const last = d.info.recentActions[d.info.recentActions.length - 1];
      return {
        workflowId: last.action.workflow.workflowId,
        runId: last.action.workflow.firstExecutionRunId,
      };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`audit schedule "${name}" did not start an audit within ${opts.waitStartMs} ms`);
}

export async function deleteAuditSchedule(client: Client, name: string): Promise<void> {
  await (await handleOf(client, name)).handle.delete();
}
