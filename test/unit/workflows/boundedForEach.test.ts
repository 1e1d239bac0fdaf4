import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedForEach } from '../../../workflows/boundedForEach';

/** A task whose outcome the test decides: started tasks wait until resolved or rejected. */
function controlled() {
  const started: number[] = [];
  const pending = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  const task = (i: number) =>
    new Promise<void>((resolve, reject) => {
      started.push(i);
      pending.set(i, { resolve, reject });
    });
  return { started, pending, task };
}
const tick = () => new Promise((r) => setImmediate(r));

test('never more than the limit in flight, in order, every task run', async () => {
  let inFlight = 0;
  let most = 0;
  const done: number[] = [];
  const next = await boundedForEach(3, 20, 4, async (i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, (i * 7) % 5));
    done.push(i);
    inFlight--;
  });
  assert.equal(next, 20);
  assert.equal(most, 4);
  assert.deepEqual(
    done.sort((a, b) => a - b),
    Array.from({ length: 17 }, (_, k) => k + 3),
  );
});

test('the first failure frees its slot, starts nothing more and rejects at once with its error', async () => {
  const c = controlled();
  const run = boundedForEach(0, 100, 3, c.task);
  let outcome: unknown;
  run.then(
    () => {
      outcome = 'resolved';
    },
    (e) => {
      outcome = e;
    },
  );
  await tick();
  assert.deepEqual(c.started, [0, 1, 2]);
  c.pending.get(0)?.resolve();
  await tick();
  assert.deepEqual(c.started, [0, 1, 2, 3]);
  // Task 2 fails while 1 and 3 are still running (and never finish): the call rejects anyway.
  const bad = new Error('shard 2: bad input');
  c.pending.get(2)?.reject(bad);
  await tick();
  assert.equal(outcome, bad);
  assert.deepEqual(c.started, [0, 1, 2, 3], 'nothing started after the failure');
  // A later failure of a task in flight is not reported as unhandled.
  c.pending.get(3)?.reject(new Error('later'));
  await tick();
});

test('tasks that settle together with a failure (one workflow activation) start nothing new', async () => {
  const c = controlled();
  const run = boundedForEach(0, 100, 4, c.task);
  await tick();
  assert.deepEqual(c.started, [0, 1, 2, 3]);
  // Three slots free and one task fails in the same tick: the failure wins.
  c.pending.get(0)?.resolve();
  c.pending.get(1)?.resolve();
  c.pending.get(2)?.reject(new Error('range 2'));
  c.pending.get(3)?.resolve();
  await assert.rejects(run, /range 2/);
  assert.deepEqual(c.started, [0, 1, 2, 3], 'nothing started after the failure');
});

test('a failure while waiting for the last tasks rejects without waiting for the others', async () => {
  const c = controlled();
  const run = boundedForEach(0, 2, 8, c.task);
  await tick();
  c.pending.get(1)?.reject(new Error('last range'));
  await assert.rejects(run, /last range/);
  assert.deepEqual(c.started, [0, 1]);
});

test('stopStarting stops new tasks, awaits those in flight, and says where to continue', async () => {
  const c = controlled();
  let stop = false;
  const run = boundedForEach(5, 50, 2, c.task, () => stop);
  await tick();
  assert.deepEqual(c.started, [5, 6]);
  stop = true;
  c.pending.get(5)?.resolve();
  await tick();
  assert.deepEqual(c.started, [5, 6], 'nothing new once told to stop');
  let finished = false;
  run.then(() => {
    finished = true;
  });
  await tick();
  assert.equal(finished, false, 'waits for the task in flight');
  c.pending.get(6)?.resolve();
  assert.equal(await run, 7);
});

test('an empty range and a bad limit', async () => {
  assert.equal(await boundedForEach(4, 4, 2, async () => assert.fail('no task')), 4);
  await assert.rejects(
    boundedForEach(0, 3, 0, async () => {}),
    /positive integer, got 0/,
  );
});
