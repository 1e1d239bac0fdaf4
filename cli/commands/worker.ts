import { availableParallelism } from 'node:os';
import { loadConfig } from '../../lib/config';
import { computeLayout, layoutEnv } from '../../lib/tf/computeLayout';
import { nativeCompute } from '../../lib/tf/native';
import { runWorkerProcesses } from '../../workers/spawnWorkers';
import { createWorker } from '../../workers/worker';
import { type Command, numberOption, type OptionTable, optionsHelp } from '../command';

const options = {
  queue: { type: 'string', arg: 'Q', help: 'the task queue (default TDA_TASK_QUEUE_CPU, tda-cpu)' },
  processes: {
    type: 'string',
    arg: 'N',
    help: 'worker processes (default: one per core; native TensorFlow on a GPU: one per 16)',
  },
} satisfies OptionTable;

const usage = `Usage: tda worker [--queue Q] [--processes N]

Runs workers (every workflow and activity) until interrupted. A host's cores are used by N worker
processes (default: the host's cores), each running one activity at a time: TensorFlow.js on
wasm/cpu computes on one thread per process, and so does native TensorFlow (tfjs-node) on the CPU,
with one TensorFlow thread per process (each process's JavaScript runs on one thread). On a GPU
the default is one process (per 16 cores) with two activity slots.
Options:
${optionsHelp(options)}`;

export const worker: Command = {
  name: 'worker',
  summary: 'run worker processes (one per core, or one per GPU host) until interrupted',
  usage,
  options,
  async run({ values }) {
    const config = loadConfig();
    const queue = (values.queue as string | undefined) ?? config.taskQueues.cpu;
    const native = nativeCompute(config.backend);
    const count = numberOption(
      values,
      'processes',
      computeLayout(native, availableParallelism()).processes,
    );
    const layout = computeLayout(native, availableParallelism(), count);
    if (count === 1) {
      // One process: this one (no child to supervise).
      const w = await createWorker(config, { taskQueue: queue, concurrency: layout.slots });
      console.log(`worker on ${config.temporal.address}, task queue ${queue} (Ctrl-C stops it)`);
      const stop = () => w.shutdown();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await w.run();
      return;
    }
    console.log(
      `${count} worker processes (${layout.why}) on ${config.temporal.address}, task queue ${queue} (Ctrl-C stops them)`,
    );
    await runWorkerProcesses(count, {
      queue,
      concurrency: layout.slots,
      env: layoutEnv(layout, process.env),
    });
  },
};
