import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('./run.ts', import.meta.url));

/**
 * TensorFlow.js runs on one thread per process, so a host's cores are used by as many worker
 * processes, each running one compute activity at a time.
 */
export interface WorkerPool {
  pids: number[];
  stop(): Promise<void>;
}

export async function startWorkerProcesses(
  opts: {
    count?: number;
    taskQueue?: string;
    env?: NodeJS.ProcessEnv;
    log?: (line: string) => void;
  } = {},
): Promise<WorkerPool> {
  const count = opts.count ?? availableParallelism();
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', RUN, opts.taskQueue ?? ''], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('ready')) resolve();
        });
        child.stderr?.on('data', (b: Buffer) => opts.log?.(b.toString().trimEnd()));
        child.once('exit', (code) =>
          reject(new Error(`worker process exited with code ${code} before it was ready`)),
        );
      }),
    );
  }
  await Promise.all(ready);
  return {
    pids: children.map((c) => c.pid as number),
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
              setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
            }),
        ),
      );
    },
  };
}
