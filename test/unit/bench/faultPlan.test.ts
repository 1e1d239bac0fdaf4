import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planFaults } from '../../../bench/faultPlan';

const slots = ['compute worker 1/2', 'compute worker 2/2', 'workflow worker'];
const opts = { seconds: 200, kills: 10, slots, mustKill: 'workflow worker', outageSeconds: 10 };

test('planFaults: the kills, one Temporal restart and one S3 outage, in order over 5%–90% of the run', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const faults = planFaults({ ...opts, seed });
    assert.equal(faults.length, 12);
    const kills = faults.filter((f) => f.kind === 'kill');
    assert.equal(kills.length, 10);
    assert.ok(kills.every((f) => slots.includes(f.slot)));
    assert.ok(
      kills.some((f) => f.slot === 'workflow worker'),
      `seed ${seed}: workflow worker`,
    );
    assert.equal(faults.filter((f) => f.kind === 'temporal-restart').length, 1);
    assert.deepEqual(
      faults.filter((f) => f.kind === 's3-outage').map((f) => f.seconds),
      [10],
    );
    for (let i = 1; i < faults.length; i++) assert.ok(faults[i].at > faults[i - 1].at);
    assert.ok(faults[0].at >= 0.05 * 200 && faults[11].at <= 0.9 * 200);
  }
  assert.deepEqual(planFaults({ ...opts, seed: 7 }), planFaults({ ...opts, seed: 7 }));
  assert.notDeepEqual(planFaults({ ...opts, seed: 7 }), planFaults({ ...opts, seed: 8 }));
});

test('planFaults: the slot that must be killed is, even when the draw never picks it', () => {
  const many = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p'];
  for (let seed = 1; seed <= 20; seed++) {
    const faults = planFaults({ ...opts, kills: 1, slots: many, mustKill: 'p', seed });
    assert.deepEqual(
      faults.filter((f) => f.kind === 'kill').map((f) => f.slot),
      ['p'],
    );
  }
});
