import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TDA = fileURLToPath(new URL('../../../bin/tda', import.meta.url));

/**
 * `tda worker --processes N` replaces worker processes that die. One that dies before it is
 * ready (here: no Temporal server at the address, as while one restarts) used to take the
 * supervisor down with it (an unhandled rejection), and with it every worker (bench:chaos).
 */
test('tda worker outlives worker processes that die before they are ready, waiting longer each time', async () => {
  const child = spawn(TDA, ['worker', '--processes', '2', '--queue', 'no-server'], {
    // Port 1: nothing listens, every connection is refused at once.
    env: { ...process.env, TDA_TEMPORAL_ADDRESS: '127.0.0.1:1', TDA_LOG_LEVEL: 'ERROR' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const waits: number[] = [];
  const stderr: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no backoff seen:\n${stderr.join('\n')}`)),
      90_000,
    );
    void exited.then((code) =>
      reject(new Error(`tda worker exited (${code}):\n${stderr.join('\n')}`)),
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      const m =
        /^workflow worker \(pid \d+\) exited \(1\) before it was ready; starting another in (\d+) s/.exec(
          line,
        );
      if (m) waits.push(Number(m[1]));
      if (waits.length === 2) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.deepEqual(waits, [1, 2]);
  assert.equal(child.exitCode, null, 'the supervisor still runs');
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
