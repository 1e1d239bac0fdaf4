/**
 * A worker in its own process, for tests that kill it (SIGKILL) mid-activity:
 *   npx tsx test/support/goldWorker.ts <taskQueue> [concurrency]
 * Prints "worker ready" once it polls.
 */
import { loadConfig } from '../../lib/config';
import { createWorker } from '../../workers/worker';

const [taskQueue, concurrency = '2'] = process.argv.slice(2);
if (!taskQueue) throw new Error('usage: goldWorker.ts <taskQueue> [concurrency]');
const worker = await createWorker(loadConfig(), { taskQueue, concurrency: Number(concurrency) });
const running = worker.run();
console.log('worker ready');
await running;
