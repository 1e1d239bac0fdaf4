import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PhaseTimes } from '../../lib/phaseTimes';

test('phases split the elapsed time by marks, summing to it; a wait charges its own phase', async () => {
  const t0 = performance.now();
  const times = new PhaseTimes();
  await sleep(30);
  times.mark('a');
  const v = await times.wait(
    'b',
    sleep(20).then(() => 7),
  );
  assert.equal(v, 7);
  await sleep(10);
  times.mark('a');
  const elapsed = (performance.now() - t0) / 1000;
  const { a, b } = times.seconds;
  assert.ok(a >= 0.035 && b >= 0.015, `a ${a}, b ${b}`);
  assert.ok(Math.abs(a + b - elapsed) < 0.005, `${a} + ${b} vs ${elapsed}`);
  assert.deepEqual(Object.keys(times.toJSON()), ['a', 'b']);
  assert.equal(times.toJSON().a, Math.round(a * 1000) / 1000);
});
