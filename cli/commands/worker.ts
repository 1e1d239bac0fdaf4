import { availableParallelism } from 'node:os';
import { loadConfig } from '../../lib/config';
import { runWorkerProcesses } from '../../workers/spawnWorkers';
import { createWorker } from '../../workers/worker';
import { type Command, numberOption } from '../command';

const usage = `Usage: tda worker [--queue Q] [--processes N]

Runs workers (every workflow and activity) until interrupted. TensorFlow.js computes on one
thread per process, so a host's cores are used by N worker processes (default: the host's cores),
each running one activity at a time. --queue defaults to TDA_TASK_QUEUE_CPU (tda-cpu).`;

export const worker: Command = {
  name: 'worker',
  summary: 'run worker processes (one per core) until interrupted',
  usage,
  options: { queue: { type: 'string' }, processes: { type: 'string' } },
  async run({ values }) {
    const config = loadConfig();
    const queue = (values.queue as string | undefined) ?? config.taskQueues.cpu;
    const count = numberOption(values, 'processes', availableParallelism());
    if (count === 1) {
      // One process: this one (no child to supervise).
      const w = await createWorker(config, { taskQueue: queue });
      console.log(`worker on ${config.temporal.address}, task queue ${queue} (Ctrl-C stops it)`);
      const stop = () => w.shutdown();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await w.run();
      return;
    }
    console.log(
      `${count} worker processes on ${config.temporal.address}, task queue ${queue} (Ctrl-C stops them)`,
    );
    await runWorkerProcesses(count, { queue, concurrency: 1 });
  },
};
