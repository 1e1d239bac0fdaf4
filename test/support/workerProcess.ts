import type { ChildProcess } from 'node:child_process';
import { spawnWorkerProcess } from '../../workers/spawnWorkers';

/**
 * Worker processes for tests that kill them: each is `node --import tsx workers/workerProcess.ts`
 * (createWorker on a task queue, run until SIGTERM), configured by the environment given.
 */
export {
  spawnWorkerProcess,
  type WorkerProcess,
  type WorkerProcessOptions,
} from '../../workers/spawnWorkers';

/** Resolves once the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
  });
}

export interface WorkerCrash {
  /** Polls `saved` (every 25 ms, for 2 minutes at most) and SIGKILLs the first worker once true. */
  killWhen(saved: () => Promise<boolean>, what: string): Promise<void>;
  /** Starts the second worker on the queue and waits until it polls. */
  restart(): Promise<void>;
}

/**
 * A worker crash in the middle of a workflow: `body` runs with a first worker polling `queue`
 * (its own node process, no npx or tsx wrapper in between, so SIGKILL really kills it); it
 * starts its workflow, kills that worker when the state it names is saved, checks what it
 * must before the restart, and restarts. Every worker is stopped at the end.
 */
export async function withWorkerCrash<T>(
  queue: string,
  body: (crash: WorkerCrash) => Promise<T>,
): Promise<T> {
  const spawn = () => spawnWorkerProcess({ queue, concurrency: 2, onLine: () => {} });
  const workers = [spawn()];
  try {
    await workers[0].ready;
    return await body({
      async killWhen(saved, what) {
        const deadline = Date.now() + 120_000;
        while (!(await saved())) {
          if (Date.now() > deadline) throw new Error(`${what}: not within 2 minutes`);
          await new Promise((r) => setTimeout(r, 25));
        }
        workers[0].child.kill('SIGKILL');
        await exited(workers[0].child);
      },
      async restart() {
        workers.push(spawn());
        await workers[1].ready;
      },
    });
  } finally {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGTERM');
        await exited(w.child);
      }
    }
  }
}
