/**
 * `tda worker --processes N` run as a user runs it (bin/tda), with the pids of the worker
 * processes it supervises read from its log (workers/spawnWorkers.ts runWorkerProcesses: N
 * compute processes and one workflow process, each replaced when it dies), so a benchmark can
 * SIGKILL them and watch them come back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '../test/support/stack';

export const WORKFLOW_SLOT = 'workflow worker';

export interface TdaWorkerFleet {
  /** The supervised processes' names: 'compute worker 1/N', ..., 'workflow worker'. */
  slots: string[];
  /** Resolves once every slot has a ready process. */
  ready: Promise<void>;
  /** Rejects if `tda worker` itself exits before stop(): the fleet is gone. */
  failed: Promise<never>;
  /** Waits until the slot's process is ready, SIGKILLs it and returns its pid. */
  kill(slot: string): Promise<number>;
  /** SIGTERM to `tda worker` (its workers drain and exit); resolves when it has exited. */
  stop(): Promise<void>;
}

const EVENT = /^(compute worker \d+\/\d+|workflow worker) \(pid (\d+)\) (ready|exited)/;

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

export function startTdaWorkerFleet(
  processes: number,
  queue: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
): TdaWorkerFleet {
  const slots = [
    ...Array.from({ length: processes }, (_, i) => `compute worker ${i + 1}/${processes}`),
    WORKFLOW_SLOT,
  ];
  const child: ChildProcess = spawn(
    `${ROOT}/bin/tda`,
    ['worker', '--processes', String(processes), '--queue', queue],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping = false;
  const failed = exited.then(() => {
    if (!stopping) throw new Error(`tda worker exited (${child.exitCode}); log: ${logFile}`);
    return new Promise<never>(() => {});
  });
  failed.catch(() => {});
  // Ready processes by slot; a slot is absent from its kill until its replacement is ready.
  const live = new Map<string, number>();
  let allReady: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    allReady = resolve;
    void exited.then(() => reject(new Error(`tda worker exited before ready (log: ${logFile})`)));
  });
  ready.catch(() => {});
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.write(`${line}\n`);
    const m = EVENT.exec(line);
    if (!m) return;
    const [, slot, pid, what] = m;
    if (what === 'ready') live.set(slot, Number(pid));
    else if (live.get(slot) === Number(pid)) live.delete(slot);
    if (live.size === slots.length) allReady();
  });
  return {
    slots,
    ready,
    failed,
    async kill(slot) {
      if (!slots.includes(slot)) throw new Error(`no worker slot "${slot}"`);
      let pid = live.get(slot);
      while (pid === undefined) {
        if (child.exitCode !== null) throw new Error(`tda worker has exited (log: ${logFile})`);
        await sleep(200);
        pid = live.get(slot);
      }
      live.delete(slot);
      killQuietly(pid);
      return pid;
    },
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(60_000, true)]);
      if (timedOut) {
        // Did not drain: end what it started (only this fleet's pids) and it.
        for (const pid of live.values()) killQuietly(pid);
        child.kill('SIGKILL');
        await exited;
      }
      log.end();
    },
  };
}
