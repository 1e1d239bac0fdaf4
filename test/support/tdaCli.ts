import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TDA = fileURLToPath(new URL('../../bin/tda', import.meta.url));

export interface TdaResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs bin/tda as a user would, with this process's environment (the test's ports). Asynchronous,
 * so that an in-process test worker keeps polling while the command waits on a workflow.
 */
export function tda(...args: string[]): Promise<TdaResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TDA, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs bin/tda and returns its output; a non-zero exit fails the test with the command's stderr. */
export async function tdaOk(...args: string[]): Promise<string> {
  const r = await tda(...args);
  if (r.code !== 0) {
    throw new Error(`tda ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/**
 * `tda attribute` on SPEC (written to DIR/spec.json) with a worker process of its own, through
 * Temporal; returns the committed run's prefix, as the command prints it for `tda report`.
 */
export async function tdaAttribute(dir: string, spec: object): Promise<string> {
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const out = await tdaOk('attribute', '--spec', join(dir, 'spec.json'), '--workers', '1');
  const run = /report: {2}tda report (\S+)/.exec(out)?.[1];
  if (!run) throw new Error(`tda attribute printed no run:\n${out}`);
  return run;
}
