/**
 * What the pipeline benchmarks (bench:scale, bench:main) measure about one attribute run: wall
 * time per stage (stageSeconds.ts), activity seconds per kind and the longest history from the
 * workflow histories, and the bytes the run wrote to S3; and the run itself on a worker fleet of
 * the benchmark's own (attributeOnFleet). Over ~300 lines: the run and what is read back about
 * it share their types and are read best together.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../lib/config';
import { planKeyOf } from '../lib/pipeline/keys';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import type { Plan, RunSummary } from '../lib/pipeline/types';
import { getJson } from '../lib/store/objectStore';
import type { S3Store } from '../lib/store/s3Store';
import { resultAcrossRestarts } from '../test/support/resultAcrossRestarts';
import { runPrefixes } from '../test/support/runPrefixes';
import { connectClient } from '../workers/connection';
import { chooseFeaturizeQueue } from '../workers/featurizeQueue';
import { spawnWorkerProcess } from '../workers/spawnWorkers';
import type { WorkerReport } from '../workers/workerProcess';
import { attribute as attributeWorkflow } from '../workflows';
import {
  progressQuery,
  selfScoreChildId,
  shardRanges,
  shardsChildId,
} from '../workflows/definitions';
import { type ActivityRun, activityRuns, secondsByWorker } from './activityRuns';
import { stageSeconds } from './stageSeconds';

export async function sizeUnder(s3: S3Store, bucket: string, prefix: string): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const res = await s3.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of res.Contents ?? []) total += o.Size ?? 0;
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return total;
}

/** Completed activities of one type: how many, their seconds, and their phases' seconds summed. */
export interface ActivityStats {
  count: number;
  seconds: number;
  /** Σ over the activities of each phase's wall and CPU seconds (lib/phaseTimes.ts). */
  phases: Record<string, number>;
  phasesCpu: Record<string, number>;
}

/**
 * Seconds the featurize activities spent scoring their shards from memory (their `score.`
 * phases, lib/pipeline/featurizeShard.ts): the score step's work, done inside them.
 */
export function scoreInFeaturizeSeconds(activity: Record<string, ActivityStats>): number {
  const phases = activity.featurizeShard?.phases ?? {};
  return Object.entries(phases)
    .filter(([p]) => p.startsWith('score.'))
    .reduce((sum, [, s]) => sum + s, 0);
}

/**
 * Each activity type's phases (those that report them), wall or CPU seconds to 10 ms, for a
 * JSON line.
 */
export function phaseSeconds(
  activity: Record<string, ActivityStats>,
  which: 'phases' | 'phasesCpu' = 'phases',
): Record<string, Record<string, number>> {
  return Object.fromEntries(
    Object.entries(activity)
      .filter(([, v]) => Object.keys(v[which]).length > 0)
      .map(([k, v]) => [
        k,
        Object.fromEntries(Object.entries(v[which]).map(([p, s]) => [p, Number(s.toFixed(2))])),
      ]),
  );
}

/** CPU seconds (user + system, every thread) process `pid` has used so far, from /proc. */
export function processCpuSeconds(pid: string | number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * CPU seconds (user + system) the local stack's servers have used so far, from their pid files
 * (infra/stack.sh) and /proc; absent where the stack was started elsewhere or there is no /proc.
 */
export function stackCpuSeconds(): Record<string, number> {
  const run = join(process.env.TDA_STACK_DIR ?? join(import.meta.dirname, '..', '.stack'), 'run');
  const out: Record<string, number> = {};
  for (const name of ['temporal', 's3']) {
    try {
      out[name] = processCpuSeconds(readFileSync(join(run, `${name}.pid`), 'utf8').trim());
    } catch {
      // not ours, or not Linux
    }
  }
  return out;
}

export interface HistoryStats {
  events: number;
  activities: Record<string, ActivityStats>;
  /** Each completed activity: which worker ran it, and when. */
  activityRuns: ActivityRun[];
}

function addActivity(into: Record<string, ActivityStats>, type: string, a: ActivityStats): void {
  into[type] ??= { count: 0, seconds: 0, phases: {}, phasesCpu: {} };
  const t = into[type];
  t.count += a.count;
  t.seconds += a.seconds;
  for (const [k, v] of Object.entries(a.phases)) t.phases[k] = (t.phases[k] ?? 0) + v;
  for (const [k, v] of Object.entries(a.phasesCpu)) t.phasesCpu[k] = (t.phasesCpu[k] ?? 0) + v;
}

/** An activity result's phase seconds (lib/phaseTimes.ts), or none. */
const phasesOf = (x: unknown) => (x && typeof x === 'object' ? (x as Record<string, number>) : {});

/** Every run of a workflow id (following continue-as-new back), its events and activity times. */
export async function historyOf(client: Client, workflowId: string): Promise<HistoryStats[]> {
  const out: HistoryStats[] = [];
  let runId: string | undefined;
  for (;;) {
    const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = h.events ?? [];
    const runs = activityRuns(events);
    const activities: HistoryStats['activities'] = {};
    for (const { type, result: r } of runs) {
      addActivity(activities, type, {
        count: 1,
        seconds: typeof r.seconds === 'number' ? r.seconds : 0,
        phases: phasesOf(r.phases),
        phasesCpu: phasesOf(r.phasesCpu),
      });
    }
    out.push({ events: events.length, activities, activityRuns: runs });
    const prev = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!prev) return out;
    runId = prev;
  }
}

/**
 * Waits for a run to finish (riding out Temporal server restarts), logging its progress as
 * polled; returns its summary and wall time. The stages' times come from the history afterwards
 * (stageSeconds.ts): polling often for them slowed the run.
 */
export async function watchRun(
  handle: WorkflowHandle<typeof attributeWorkflow>,
  log: (m: string) => void,
  pollMs = 2000,
): Promise<{ summary: RunSummary; wall: number }> {
  const t = performance.now();
  let last = '';
  let summary: RunSummary | undefined;
  // Timed when the result arrives, not after a last progress query.
  let wall = 0;
  const done = resultAcrossRestarts(handle).then((s) => {
    wall = (performance.now() - t) / 1000;
    summary = s;
  });
  for (;;) {
    await Promise.race([done, new Promise((r) => setTimeout(r, pollMs))]);
    if (summary) break;
    const p = await handle.query(progressQuery).catch(() => undefined);
    const now = (performance.now() - t) / 1000;
    const line = p
      ? `${p.stage} shards ${p.shardsDone}/${p.shardsTotal} ex ${p.examplesDone}/${p.examplesTotal}`
      : '';
    if (line !== last) log(`${now.toFixed(1)} s: ${line}`);
    last = line;
  }
  await done;
  return { summary: summary as RunSummary, wall };
}

export interface RunStats {
  /** Wall seconds per stage (plan, featurize-queries, shards, curvature, self-score, reduce). */
  stages: Record<string, number>;
  activity: Record<string, ActivityStats>;
  maxEvents: number;
  featureBytes: number;
  /**
   * Each worker's training-shard featurize activities in the order it ran them (secondsByWorker).
   * On fresh workers (the first of `runs`) a worker's first is its cold one (compiling,
   * first-touched memory; the worker that featurized the queries ran that before it), the rest
   * show the steady state beside it in the same run. With two slots a worker's first two overlap.
   */
  shardSeconds: number[][];
  /** Features plus everything under the run's prefix. */
  bytes: number;
  plan: Plan;
}

/** Bytes, activity times and history lengths of a finished run. */
export async function runStats(
  client: Client,
  s3: S3Store,
  bucket: string,
  workflowId: string,
  summary: RunSummary,
  log: (m: string) => void,
): Promise<RunStats> {
  const plan = await getJson<Plan>(s3, planKeyOf(summary.runPrefix));
  const prefixes = runPrefixes(plan);
  let bytes = await sizeUnder(s3, bucket, prefixes.run);
  let featureBytes = 0;
  for (const p of prefixes.features) featureBytes += await sizeUnder(s3, bucket, p);
  bytes += featureBytes;
  const histories: { id: string; runs: HistoryStats[] }[] = [
    { id: workflowId, runs: await historyOf(client, workflowId) },
  ];
  for (const [s] of shardRanges(plan.train.shards.length, plan.spec.shardsPerChild)) {
    const id = shardsChildId(workflowId, s);
    histories.push({ id, runs: await historyOf(client, id) });
    if (summary.selfScore === 'influence') {
      const self = selfScoreChildId(workflowId, s);
      histories.push({ id: self, runs: await historyOf(client, self) });
    }
  }
  const activity: RunStats['activity'] = {};
  let maxEvents = 0;
  for (const h of histories) {
    for (const r of h.runs) {
      maxEvents = Math.max(maxEvents, r.events);
      for (const [k, v] of Object.entries(r.activities)) addActivity(activity, k, v);
    }
    log(
      `history ${h.id}: ${h.runs.length} run(s), events ${h.runs.map((r) => r.events).join(' + ')}`,
    );
  }
  // The training shards' featurize: the children's (the queries' is the parent's).
  const shardSeconds = secondsByWorker(
    histories
      .filter((h) => h.id !== workflowId)
      .flatMap((h) => h.runs.flatMap((r) => r.activityRuns)),
    'featurizeShard',
  );
  const stages = stageSeconds(
    (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [],
  );
  for (const [k, v] of Object.entries(activity)) {
    const phases = Object.entries(v.phases)
      .map(
        ([p, s]) =>
          `${p} ${s.toFixed(2)}${p in v.phasesCpu ? `/${v.phasesCpu[p].toFixed(2)}` : ''}`,
      )
      .join(', ');
    log(
      `activity ${k}: ${v.count} × avg ${(v.seconds / Math.max(1, v.count)).toFixed(2)} s = ${v.seconds.toFixed(1)} s${phases ? ` (wall/CPU s: ${phases})` : ''}`,
    );
  }
  return { stages, activity, maxEvents, featureBytes, shardSeconds, bytes, plan };
}

/**
 * The attribute workflow for `spec` on a fleet of the benchmark's own, on the fresh queue `name`
 * (also the workflow id): `workers` activity processes, each writing its WorkerReport, and a
 * workflow-only process, as `tda worker` runs them. Waits for the run (watchRun), stops the
 * fleet and returns the run, every worker's report and the run's stats. With `runs` > 1 the
 * same fleet attributes that many times, `reset` (e.g. deleting the run's cached files) before
 * each run after the first: the last run is the one returned, as on a fleet of long-lived
 * workers; every run's wall time is in `walls`.
 */
export async function attributeOnFleet(
  config: Config,
  s3: S3Store,
  spec: RunSpecInput,
  fleet: {
    name: string;
    workers: number;
    concurrency: number;
    env?: NodeJS.ProcessEnv;
    runs?: number;
    reset?: () => Promise<unknown>;
  },
  log: (m: string) => void,
): Promise<{
  watched: Awaited<ReturnType<typeof watchRun>>;
  reports: WorkerReport[];
  stats: RunStats;
  /** CPU seconds the stack's servers used during the run (stackCpuSeconds), where known. */
  stackCpu: Record<string, number>;
  /** Each run's wall seconds, in order (the last is `watched.wall`). */
  walls: number[];
}> {
  const queue = fleet.name;
  const runs = fleet.runs ?? 1;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be ≥ 1, got ${runs}`);
  const reportDir = mkdtempSync(join(tmpdir(), `tda-${fleet.name}-`));
  const workers = Array.from({ length: fleet.workers }, (_, i) =>
    spawnWorkerProcess({
      queue,
      concurrency: fleet.concurrency,
      env: fleet.env,
      role: 'activities',
      report: join(reportDir, `worker-${i}.json`),
    }),
  );
  const workflowWorker = spawnWorkerProcess({ queue, role: 'workflows' });
  await Promise.all([...workers, workflowWorker].map((w) => w.ready));
  log(`${fleet.workers} compute worker processes and a workflow worker ready on ${queue}`);
  const client = await connectClient(config);
  try {
    const featurizeQueue = await chooseFeaturizeQueue(client, config);
    const walls: number[] = [];
    let watched: Awaited<ReturnType<typeof watchRun>> | undefined;
    let stackCpu: Record<string, number> = {};
    for (let r = 0; r < runs; r++) {
      if (r > 0) await fleet.reset?.();
      // The last run takes the fleet's name, under which runStats reads its histories.
      const workflowId = r === runs - 1 ? fleet.name : `${fleet.name}-run${r}`;
      const cpu0 = stackCpuSeconds();
      const handle = await client.workflow.start(attributeWorkflow, {
        taskQueue: queue,
        workflowId,
        args: [{ spec, featurizeQueue }],
      });
      watched = await watchRun(handle, log);
      const cpu1 = stackCpuSeconds();
      stackCpu = Object.fromEntries(
        Object.keys(cpu1)
          .filter((k) => k in cpu0)
          .map((k) => [k, Number((cpu1[k] - cpu0[k]).toFixed(2))]),
      );
      walls.push(Number(watched.wall.toFixed(2)));
      if (runs > 1) log(`run ${r + 1} of ${runs}: ${watched.wall.toFixed(2)} s`);
    }
    await Promise.all([...workers, workflowWorker].map((w) => w.stop()));
    const reports: WorkerReport[] = workers.map((_, i) =>
      JSON.parse(readFileSync(join(reportDir, `worker-${i}.json`), 'utf8')),
    );
    const last = watched as Awaited<ReturnType<typeof watchRun>>;
    const stats = await runStats(client, s3, config.s3.bucket, fleet.name, last.summary, log);
    return { watched: last, reports, stats, stackCpu, walls };
  } finally {
    await client.connection.close();
  }
}
