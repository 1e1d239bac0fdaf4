import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PhaseTimes } from '../../lib/phaseTimes';

test('phases split the elapsed wall and CPU time by marks, summing to it; a wait charges its own phase', async () => {
  const t0 = performance.now();
  const times = new PhaseTimes();
  await sleep(30);
  times.mark('a');
  // Long enough that the process's other threads (V8's collector and compiler, which
  // process.cpuUsage counts) cannot fill it: with 20 ms, a full test run measured 0.02 CPU s.
  const v = await times.wait(
    'b',
    sleep(200).then(() => 7),
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
  // Spun until the process has used 30 ms of CPU, however long that takes on a loaded machine
  // (a fixed wall time of spinning can get little CPU there).
  const busy = new PhaseTimes();
  const c0 = process.cpuUsage();
  const used = () => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1e6;
  };
  let x = 0;
  while (used() < 0.03) x += Math.sqrt(x + 1);
  busy.mark('spin');
  assert.ok(x > 0);
  assert.ok(busy.cpuSeconds.spin >= 0.03, `${busy.cpuSeconds.spin} CPU s for 0.03 CPU s spun`);
});
