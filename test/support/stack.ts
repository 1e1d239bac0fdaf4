import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Config, loadConfig } from '../../lib/config';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function listening(port: string): boolean {
  try {
    execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Integration tests run against the real local stack; bring it up if it is not (idempotent). */
export function ensureStack(): Config {
  const config = loadConfig();
  const env = process.env;
  // Up already, maybe started from another worktree (whose pid files stack.sh cannot see).
  if (listening(env.TDA_TEMPORAL_PORT ?? '7233') && listening(env.TDA_S3_PORT ?? '8333')) {
    return config;
  }
  execFileSync('bash', [`${ROOT}/infra/stack.sh`, 'up'], { stdio: 'inherit' });
  return config;
}

export function stack(cmd: 'up' | 'down' | 'restart', which: 'all' | 'temporal' | 's3' = 'all') {
  execFileSync('bash', [`${ROOT}/infra/stack.sh`, cmd, which], { stdio: 'inherit' });
}
