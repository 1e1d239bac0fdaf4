import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../lib/config';
import { ROOT } from './stack';

/**
 * A stack of its own (ports, state folder) for tests that restart or stop servers, so the shared
 * default stack other engineers' tests use is never disturbed. Its state starts empty, so nothing
 * is cached from earlier runs.
 */
export interface PrivateStack {
  env: NodeJS.ProcessEnv;
  config: Config;
  run(cmd: 'up' | 'down' | 'restart', which?: 'all' | 'temporal' | 's3'): void;
  /** Stops both servers and removes the state folder. */
  destroy(): void;
}

export function startPrivateStack(): PrivateStack {
  const dir = mkdtempSync(join(tmpdir(), 'tda-stack-'));
  mkdirSync(join(dir, 'state'));
  // The binaries are the worktree's; only state, logs and pids are private.
  symlinkSync(join(ROOT, '.stack', 'bin'), join(dir, 'bin'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const base = 20_000 + 100 * Math.floor(Math.random() * 90);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TDA_STACK_DIR: dir,
      TDA_TEMPORAL_PORT: String(base + 33),
      TDA_TEMPORAL_UI_PORT: String(base + 34),
      TDA_S3_PORT: String(base + 35),
    };
    const run = (cmd: string, which = 'all') =>
      execFileSync('bash', [`${ROOT}/infra/stack.sh`, cmd, which], { stdio: 'inherit', env });
    try {
      run('up');
      return {
        env,
        config: loadConfig(env),
        run,
        destroy() {
          run('down');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      lastError = e;
      run('down');
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start a private stack: ${(lastError as Error).message}`);
}
