import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../lib/config';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `tda: training-data attribution on Temporal, TensorFlow.js, S3 and Arrow

Usage: tda <command> [options]

Commands:
  stack up|down|status     start, stop or check the local Temporal and S3 servers
  worker [--queue Q] [--processes N]
                           run workers (workflows and activities) until interrupted: N processes
                           (default: the host's cores), each computing one activity at a time,
                           since TensorFlow.js is single-threaded per process; a process with a
                           GPU backend also polls the GPU queue
  smoke                    prove the stack end to end (Arrow file to S3 and back via Temporal)

Configuration comes from TDA_* environment variables (see README).`;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return;
  }
  switch (cmd) {
    case 'stack': {
      const sub = rest[0] ?? 'status';
      if (!['up', 'down', 'status', 'restart'].includes(sub)) throw new Error(USAGE);
      execFileSync('bash', [`${ROOT}/infra/stack.sh`, sub], { stdio: 'inherit' });
      return;
    }
    case 'worker': {
      const q = rest.indexOf('--queue');
      const taskQueue = q >= 0 ? rest[q + 1] : undefined;
      const p = rest.indexOf('--processes');
      const processes = p >= 0 ? Number(rest[p + 1]) : availableParallelism();
      if (!Number.isInteger(processes) || processes < 1) {
        throw new Error(`--processes must be a positive integer, got "${rest[p + 1]}"`);
      }
      const config = loadConfig();
      if (processes === 1) {
        const { createWorker } = await import('../workers/worker');
        const worker = await createWorker(config, { taskQueue });
        await worker.run();
        return;
      }
      const { runWorkerProcesses } = await import('../workers/spawnWorkers');
      await runWorkerProcesses(processes, { queue: taskQueue, concurrency: 1 });
      return;
    }
    case 'smoke': {
      const { runSmoke } = await import('./smoke');
      await runSmoke(loadConfig());
      return;
    }
    default:
      throw new Error(`unknown command "${cmd}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e: Error) => {
  console.error(`tda: ${e.message}`);
  process.exit(1);
});
