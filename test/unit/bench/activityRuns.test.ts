import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activityRuns, secondsByWorker } from '../../../bench/activityRuns';

type Events = Parameters<typeof activityRuns>[0];

/** A history event at `t` seconds by the server's clock. */
const at = (eventId: number, t: number, attrs: object) => ({
  eventId,
  eventTime: { seconds: Math.floor(t), nanos: Math.round((t % 1) * 1e9) },
  ...attrs,
});
const scheduled = (id: number, t: number, name: string) =>
  at(id, t, { activityTaskScheduledEventAttributes: { activityType: { name } } });
const started = (id: number, t: number, of: number, identity: string) =>
  at(id, t, { activityTaskStartedEventAttributes: { scheduledEventId: of, identity } });
const completed = (id: number, t: number, of: number, result?: object) =>
  at(id, t, {
    activityTaskCompletedEventAttributes: {
      scheduledEventId: of,
      ...(result && {
        result: { payloads: [{ data: new TextEncoder().encode(JSON.stringify(result)) }] },
      }),
    },
  });

test('activityRuns pairs each completion with its schedule, start and result; one never completed is left out', () => {
  const events = [
    scheduled(1, 10, 'featurizeShard'),
    scheduled(2, 10, 'featurizeShard'),
    scheduled(3, 10, 'planRun'),
    started(4, 10.5, 2, '11@host'),
    started(5, 10.25, 1, '12@host'),
    completed(6, 12.75, 2, { seconds: 2.1, phases: { read: 0.5 } }),
    started(7, 13, 3, '12@host'),
    completed(8, 14, 1),
  ] as unknown as Events;
  assert.deepEqual(activityRuns(events), [
    {
      type: 'featurizeShard',
      worker: '11@host',
      start: 10.5,
      end: 12.75,
      result: { seconds: 2.1, phases: { read: 0.5 } },
    },
    { type: 'featurizeShard', worker: '12@host', start: 10.25, end: 14, result: {} },
  ]);
});

test("secondsByWorker: each worker's activities of one type in the order it started them", () => {
  const runs = [
    { type: 'featurizeShard', worker: 'b', start: 5, end: 6.5 },
    { type: 'featurizeShard', worker: 'a', start: 1, end: 4.25 },
    { type: 'selfScoreShard', worker: 'a', start: 7, end: 8 },
    { type: 'featurizeShard', worker: 'b', start: 2, end: 4.5 },
    { type: 'featurizeShard', worker: 'a', start: 4.5, end: 6.123 },
  ].map((r) => ({ ...r, result: {} }));
  assert.deepEqual(secondsByWorker(runs, 'featurizeShard'), [
    [3.25, 1.62],
    [2.5, 1.5],
  ]);
  assert.deepEqual(secondsByWorker(runs, 'reduceRun'), []);
});
