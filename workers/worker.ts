import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../lib/config';
import { openStore } from '../lib/store/openStore';
import { initBackend } from '../lib/tf/backend';
import { connectWorker } from './connection';
import { type MemoryTrace, tracedActivities } from './memoryTrace';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  taskQueue?: string;
  /** Activity slots; defaults to the configured concurrency, else the host's cores. */
  concurrency?: number;
  /** Featurize rows per chunk (finer resume points); default CHUNK_ROWS. */
  chunkRows?: number;
  /**
   * 'all' (default) serves workflows and activities. A compute process blocks its event loop
   * for up to a second at a time, which delays the workflow tasks it hosts: fleets run compute
   * processes as 'activities' and one light 'workflows' process.
   */
  role?: WorkerRole;
  /** Counts each running activity in this trace's samples (workers/memoryTrace.ts). */
  trace?: MemoryTrace;
}

export type WorkerRole = 'all' | 'workflows' | 'activities';

let backend: Promise<string> | undefined;

/** One TensorFlow.js backend per process, chosen by the configuration ('auto' logs its pick). */
export function ensureBackend(config: Config): Promise<string> {
  backend ??= initBackend(config.backend);
  return backend;
}

function activitiesOf(store: ReturnType<typeof openStore>, opts: WorkerOptions) {
  const activities = createActivities({ store, chunkRows: opts.chunkRows });
  return opts.trace ? tracedActivities(activities, opts.trace) : activities;
}

/** A worker serving the workflows and every activity on one task queue. */
export async function createWorker(config: Config, opts: WorkerOptions = {}): Promise<Worker> {
  const role = opts.role ?? 'all';
  if (role !== 'workflows') await ensureBackend(config);
  const connection = await connectWorker(config);
  const store = openStore(config);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: opts.taskQueue ?? config.taskQueues.cpu,
    workflowsPath: role === 'activities' ? undefined : WORKFLOWS_PATH,
    activities: role === 'workflows' ? undefined : activitiesOf(store, opts),
    maxConcurrentActivityTaskExecutions:
      opts.concurrency ?? config.workerConcurrency ?? availableParallelism(),
  });
}
