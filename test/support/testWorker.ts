import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import type { Worker } from '@temporalio/worker';
import type { Config } from '../../lib/config';
import { createWorker } from '../../workers/worker';

/**
 * An in-process worker (workflows and activities) on a fresh task queue for the calling test
 * file: started in a `before` hook, shut down in an `after` hook. Returns the task queue.
 */
export function useTestWorker(config: Config, name: string): string {
  const taskQueue = `${name}-${randomUUID()}`;
  let worker: Worker;
  let running: Promise<void>;
  before(async () => {
    worker = await createWorker(config, { taskQueue, concurrency: 2 });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
  });
  return taskQueue;
}
