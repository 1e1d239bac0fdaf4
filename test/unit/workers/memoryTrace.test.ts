import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type MemorySample,
  procRss,
  startMemoryTrace,
  tracedActivities,
} from '../../../workers/memoryTrace';

test('procRss reads this process resident set from /proc, split into anonymous and file pages', () => {
  const p = procRss();
  assert.ok(p, 'Linux has /proc');
  const rss = process.memoryUsage().rss / 2 ** 20;
  // The kernel's count and Node's are the same figure read at different moments.
  assert.ok(Math.abs(p.rss - rss) < 64, `${p.rss} vs ${rss}`);
  assert.ok(Math.abs(p.anon + p.file - p.rss) < 2, 'VmRSS = RssAnon + RssFile (+ shmem)');
  assert.equal(procRss(2 ** 30), undefined, 'no such process');
});

test('the trace counts running activities, keeps the highest sample and writes every sample', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-memtrace-'));
  const trace = startMemoryTrace({ file: join(dir, 'trace'), intervalMs: 5 });
  const activities = tracedActivities(
    {
      async hold(bytes: number) {
        const b = Buffer.alloc(bytes, 1);
        await new Promise((r) => setTimeout(r, 60));
        return b.length;
      },
      async fail() {
        throw new Error('boom');
      },
    },
    trace,
  );
  const before = trace.peak();
  assert.deepEqual(before.running, {});
  const [n] = await Promise.all([
    activities.hold(64 * 2 ** 20),
    (async () => {
      await new Promise((r) => setTimeout(r, 30));
      const s = trace.peak();
      assert.ok(s.rss >= before.rss);
      return s;
    })(),
  ]);
  assert.equal(n, 64 * 2 ** 20, 'the wrapped activity returns its result');
  await assert.rejects(activities.fail(), /boom/, 'and passes on its failure');
  const peak = trace.peak();
  trace.stop();
  const lines = readFileSync(join(dir, `trace.${process.pid}`), 'utf8')
    .trim()
    .split('\n');
  const samples = lines.map((l) => JSON.parse(l) as MemorySample);
  assert.ok(samples.length >= 3);
  const during = samples.filter((s) => s.running.hold === 1);
  assert.ok(during.length > 0, 'samples were taken while the activity ran');
  assert.ok(
    during.some((s) => s.external >= 64),
    'while it held its 64 MiB buffer, external memory shows it',
  );
  assert.deepEqual(samples[samples.length - 1].running, {}, 'nothing runs after both returned');
  assert.equal(Math.max(...samples.map((s) => s.rss)), peak.rss);
});
