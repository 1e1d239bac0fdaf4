import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Config, loadConfig } from '../../lib/config';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Integration tests run against the real local stack; bring it up if it is not (idempotent). */
export function ensureStack(): Config {
  execFileSync('bash', [`${ROOT}/infra/stack.sh`, 'up'], { stdio: 'inherit' });
  return loadConfig();
}

export function stack(cmd: 'up' | 'down' | 'restart', which: 'all' | 'temporal' | 's3' = 'all') {
  execFileSync('bash', [`${ROOT}/infra/stack.sh`, cmd, which], { stdio: 'inherit' });
}
