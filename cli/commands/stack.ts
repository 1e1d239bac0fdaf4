import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Command, UsageError } from '../command';

const STACK = fileURLToPath(new URL('../../infra/stack.sh', import.meta.url));
const usage = `Usage: tda stack up|down|status|restart [all|temporal|s3]

Starts, stops or checks the local Temporal dev server (127.0.0.1:7233, web UI :8233) and the
S3 server (versitygw, 127.0.0.1:8333). Ports: TDA_TEMPORAL_PORT, TDA_TEMPORAL_UI_PORT, TDA_S3_PORT.`;

export const stack: Command = {
  name: 'stack',
  summary: 'start, stop or check the local Temporal and S3 servers',
  usage,
  async run({ positionals }) {
    const [sub = 'status', which = 'all'] = positionals;
    if (!['up', 'down', 'status', 'restart'].includes(sub)) throw new UsageError(usage);
    execFileSync('bash', [STACK, sub, which], { stdio: 'inherit' });
  },
};
