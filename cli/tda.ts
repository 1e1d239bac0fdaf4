import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../lib/config';
import { AUDIT_USAGE } from './auditUsage';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `tda: training-data attribution on Temporal, TensorFlow.js, S3 and Arrow

Usage: tda <command> [options]

Commands:
  stack up|down|status     start, stop or check the local Temporal and S3 servers
  worker [--queue Q]       run a worker (workflows and activities) until interrupted
  smoke                    prove the stack end to end (Arrow file to S3 and back via Temporal)
${AUDIT_USAGE}

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
      const { createWorker } = await import('../workers/worker');
      const q = rest.indexOf('--queue');
      const worker = await createWorker(loadConfig(), {
        taskQueue: q >= 0 ? rest[q + 1] : undefined,
      });
      await worker.run();
      return;
    }
    case 'smoke': {
      const { runSmoke } = await import('./smoke');
      await runSmoke(loadConfig());
      return;
    }
    case 'audit': {
      const { runAuditCommand } = await import('./audit');
      await runAuditCommand(loadConfig(), rest);
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
