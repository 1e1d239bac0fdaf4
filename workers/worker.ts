import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../lib/config';
import { openStore } from '../lib/store/openStore';
import { initBackend } from '../lib/tf/backend';
import { connectWorker } from './connection';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  taskQueue?: string;
  /** Activity slots; defaults to the configured concurrency, else the host's cores. */
  concurrency?: number;
  /** Featurize rows per chunk (finer resume points); default CHUNK_ROWS. */
  chunkRows?: number;
}

let backend: Promise<string> | undefined;

/** One TensorFlow.js backend per process, chosen by the configuration ('auto' logs its pick). */
export function ensureBackend(config: Config): Promise<string> {
  backend ??= initBackend(config.backend);
  return backend;
}

/** A worker serving the workflows and every activity on one task queue. */
export async function createWorker(config: Config, opts: WorkerOptions = {}): Promise<Worker> {
  await ensureBackend(config);
  const connection = await connectWorker(config);
  const store = openStore(config);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: opts.taskQueue ?? config.taskQueues.cpu,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities({ store, chunkRows: opts.chunkRows }),
    maxConcurrentActivityTaskExecutions:
      opts.concurrency ?? config.workerConcurrency ?? availableParallelism(),
  });
}
