import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PhaseTimes } from '../../lib/phaseTimes';

test('phases split the elapsed wall and CPU time by marks, summing to it; a wait charges its own phase', async () => {
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
  const { phases, phasesCpu } = times.toJSON();
  assert.deepEqual(Object.keys(phases), ['a', 'b']);
  assert.equal(phases.a, Math.round(a * 1000) / 1000);
  // Sleeping costs next to no CPU; a busy loop costs about its wall time.
  assert.ok(phasesCpu.b < b, `${phasesCpu.b} CPU s while sleeping ${b} s`);
  const busy = new PhaseTimes();
  const until = performance.now() + 60;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  busy.mark('spin');
  assert.ok(x > 0);
  assert.ok(busy.cpuSeconds.spin > 0.02, `${busy.cpuSeconds.spin} CPU s spinning 0.06 s`);
});
