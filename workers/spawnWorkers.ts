import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Config } from '../lib/config';
import { computeLayout, layoutEnv } from '../lib/tf/computeLayout';
import { nativeCompute } from '../lib/tf/native';

export const WORKER_PROCESS_PATH = fileURLToPath(new URL('./workerProcess.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface WorkerProcessOptions {
  queue?: string;
  concurrency?: number;
  chunkRows?: number;
  role?: 'all' | 'workflows' | 'activities';
  /** File the child writes its WorkerReport (peak RSS) to when it exits cleanly. */
  report?: string;
  /** Environment of the child (its configuration); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Called with each line the child prints (default: copied to this process's stdout). */
  onLine?: (line: string) => void;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the child polls its queue, with its backend; rejects if it exits first. */
  ready: Promise<string>;
  /** Resolves with the exit code (or the signal's name) once the child is gone. */
  exited: Promise<number | string>;
  /** SIGTERM: the child drains and exits; resolves when it has. */
  stop(): Promise<number | string>;
}

/** Starts one worker process (`node --import tsx workers/workerProcess.ts ...`). */
export function spawnWorkerProcess(opts: WorkerProcessOptions = {}): WorkerProcess {
  const args = ['--import', 'tsx', WORKER_PROCESS_PATH];
  if (opts.queue) args.push('--queue', opts.queue);
  if (opts.concurrency) args.push('--concurrency', String(opts.concurrency));
  if (opts.chunkRows) args.push('--chunk-rows', String(opts.chunkRows));
  if (opts.report) args.push('--report', opts.report);
  if (opts.role) args.push('--role', opts.role);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /^ready \d+ (\S+)/.exec(line);
      if (m) resolve(m[1]);
      else (opts.onLine ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
    });
    void exited.then((code) => reject(new Error(`worker process exited (${code}) before ready`)));
  });
  ready.catch(() => {});
  return {
    child,
    ready,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The first wait before replacing a worker process that died, and the most (see below). */
const RELAUNCH_MS = 1000;
const RELAUNCH_MAX_MS = 30_000;

/**
 * Runs n compute (activity) worker processes and one workflow worker process until this process
 * gets SIGINT/SIGTERM (passed on; each drains), and replaces any that dies meanwhile. Workflow
 * tasks get a process of their own because compute blocks an event loop for up to a second.
 * A replacement that dies before it is ready (the Temporal server is restarting, say) is
 * replaced again after twice the wait, up to RELAUNCH_MAX_MS, until one is ready.
 */
export async function runWorkerProcesses(
  n: number,
  opts: WorkerProcessOptions = {},
  log: (msg: string) => void = (m) => console.error(m),
): Promise<void> {
  let stopping = false;
  const slots: WorkerProcess[] = [];
  const launch = (i: number, wait: number) => {
    const role = i < n ? 'activities' : 'workflows';
    const w = spawnWorkerProcess({ ...opts, role });
    slots[i] = w;
    const name = i < n ? `compute worker ${i + 1}/${n}` : 'workflow worker';
    let ready = false;
    void w.ready.then(
      (backend) => {
        ready = true;
        log(`${name} (pid ${w.child.pid}) ready: ${backend}`);
      },
      () => {}, // it exited first: replaced below
    );
    void w.exited.then((code) => {
      if (stopping) return;
      const next = ready ? RELAUNCH_MS : wait;
      log(
        `${name} (pid ${w.child.pid}) exited (${code})${ready ? '' : ' before it was ready'}; starting another in ${next / 1000} s`,
      );
      setTimeout(() => !stopping && launch(i, Math.min(RELAUNCH_MAX_MS, 2 * next)), next);
    });
  };
  for (let i = 0; i <= n; i++) launch(i, RELAUNCH_MS);
  await new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await Promise.all(slots.map((w) => w.stop()));
}

/**
 * n compute worker processes and one workflow worker process for the length of one job (the
 * demo, `tda attribute --workers`).
 */
export async function startWorkerProcesses(
  n: number,
  opts: WorkerProcessOptions = {},
): Promise<{ pids: number[]; stop(): Promise<void> }> {
  // The job's command prints a failure's root cause in one line (cli/workflowFailure.ts); its
  // workers' warnings (each failed attempt with its stack) stay out of the command's output
  // unless TDA_LOG_LEVEL asks for them.
  const base = opts.env ?? process.env;
  const env = { ...base, TDA_LOG_LEVEL: base.TDA_LOG_LEVEL ?? 'ERROR' };
  const workers = [
    ...Array.from({ length: n }, () => spawnWorkerProcess({ ...opts, env, role: 'activities' })),
    spawnWorkerProcess({ ...opts, env, role: 'workflows' }),
  ];
  try {
    await Promise.all(workers.map((w) => w.ready));
  } catch (e) {
    await Promise.all(workers.map((w) => w.stop()));
    throw e;
  }
  return {
    pids: workers.map((w) => w.child.pid as number),
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}

/**
 * Options for n compute worker processes on this host's cores (lib/tf/computeLayout): one
 * activity slot each on wasm/cpu and native TensorFlow on the CPU (one TensorFlow thread each); on a
 * GPU two slots and the cores split between them.
 */
export function workerLayoutOptions(config: Config, n: number): WorkerProcessOptions {
  const layout = computeLayout(nativeCompute(config.backend), availableParallelism(), n);
  return {
    queue: config.taskQueues.cpu,
    concurrency: layout.slots,
    env: layoutEnv(layout, process.env),
  };
}
