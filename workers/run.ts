import { loadConfig } from '../lib/config';
import { createWorker } from './worker';

// One worker process: `node --import tsx workers/run.ts [taskQueue]`. Prints "ready" once polling,
// shuts down gracefully on SIGTERM / SIGINT.
const config = loadConfig();
const worker = await createWorker(config, {
  taskQueue: process.argv[2] || undefined,
  concurrency: 1,
});
const stop = () => worker.shutdown();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
const running = worker.run();
console.log(`ready ${process.pid} on task queue ${worker.options.taskQueue}`);
await running;
