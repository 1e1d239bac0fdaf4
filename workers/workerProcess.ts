/**
 * Entry point of one worker process (what `tda worker --processes N` forks N of): a worker on a
 * task queue with compute concurrency 1 by default, since TensorFlow.js in one Node process runs
 * on one thread. A compute process first runs a small attribution in process (warmUp;
 * TDA_WARM_UP=0 skips it). Prints `ready <pid> <backend>` once polling; on SIGINT/SIGTERM it
 * drains, then writes its peak RSS to --report (if given) and exits.
 *
 *   node --import tsx workers/workerProcess.ts [--queue Q] [--concurrency N] [--chunk-rows R]
 *     [--report FILE] [--role all|workflows|activities]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { setHeapGrowth } from '../lib/heapGrowth';
import { warmUp } from '../lib/pipeline/warmUp';
import { isGpuBackend } from './featurizeQueue';
import { type MemorySample, startMemoryTrace } from './memoryTrace';
import { createWorker, ensureBackend, type WorkerRole } from './worker';

export interface WorkerReport {
  pid: number;
  backend: string;
  /** Peak resident set size of this process, MiB. */
  maxRssMb: number;
  /** The sampled moment of highest RSS: what it was made of and what was running. */
  peak: MemorySample;
  seconds: number;
  /** The warm-up run before it polled (0: none). */
  warmUpSeconds: number;
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  setHeapGrowth();
  const { values } = parseArgs({
    options: {
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      'chunk-rows': { type: 'string' },
      report: { type: 'string' },
      role: { type: 'string' },
    },
  });
  const role = (values.role ?? 'all') as WorkerRole;
  if (!['all', 'workflows', 'activities'].includes(role)) {
    throw new Error(`--role must be all, workflows or activities, got "${role}"`);
  }
  const config = loadConfig();
  const concurrency = positiveInt('concurrency', values.concurrency) ?? 1;
  const chunkRows = positiveInt('chunk-rows', values['chunk-rows']);
  const warm = role !== 'workflows' && config.warmUp;
  const backend = role === 'workflows' ? 'none' : await ensureBackend(config);
  // A compute process compiles its hot loops before it takes work (lib/pipeline/warmUp.ts).
  let warmUpSeconds = 0;
  if (warm) {
    // Only a speed-up: a worker that cannot run it (no writable temp folder, say) still serves.
    try {
      const w = await warmUp();
      warmUpSeconds = w.seconds;
      if (w.tensorsLeft !== 0) {
        console.error(`worker ${process.pid}: the warm-up left ${w.tensorsLeft} tensors`);
      }
    } catch (e) {
      console.error(`worker ${process.pid}: warm-up failed, serving without it: ${e}`);
    }
  }
  const trace = startMemoryTrace({
    file: process.env.TDA_MEMORY_TRACE || undefined,
    tensors: role !== 'workflows',
  });
  const workers: Worker[] = [
    await createWorker(config, { taskQueue: values.queue, concurrency, chunkRows, role, trace }),
  ];
  // A GPU process also polls the GPU queue, where clients send featurize when it has pollers.
  if (isGpuBackend(backend)) {
    workers.push(
      await createWorker(config, {
        taskQueue: config.taskQueues.gpu,
        concurrency,
        chunkRows,
        role: 'activities',
        trace,
      }),
    );
  }
  process.stdout.write(`ready ${process.pid} ${backend}\n`);
  // Worker.run() returns after the SDK's own SIGINT/SIGTERM handling has drained it.
  await Promise.all(workers.map((w) => w.run()));
  if (values.report) {
    const report: WorkerReport = {
      pid: process.pid,
      backend,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      peak: trace.peak(),
      seconds: (performance.now() - t0) / 1000,
      warmUpSeconds,
    };
    writeFileSync(values.report, `${JSON.stringify(report)}\n`);
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`worker ${process.pid}: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
