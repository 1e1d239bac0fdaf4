import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  controlRetry,
  goldRunActivity,
  NON_RETRYABLE_ERROR_TYPES,
  shardActivity,
  shardRanges,
  shardsChildId,
} from '../../../workflows/definitions';

test('shardRanges covers every shard once, in ranges of shardsPerChild, the last one short', () => {
  for (const [shards, per] of [
    [0, 3],
    [1, 3],
    [7, 3],
    [9, 3],
    [5, 1],
    [4, 10],
  ]) {
    const ranges = shardRanges(shards, per);
    const covered: number[] = [];
    for (const [start, end] of ranges) {
      assert.ok(end > start && end - start <= per, `[${start}, ${end}) of ${shards} by ${per}`);
      for (let s = start; s < end; s++) covered.push(s);
    }
    assert.deepEqual(
      covered,
      Array.from({ length: shards }, (_, i) => i),
    );
    assert.equal(ranges.length, Math.ceil(shards / per));
  }
});

test('child ids are what the benchmarks look the histories up by', () => {
  assert.equal(shardsChildId('scale-ab12', 40), 'scale-ab12-shards-40');
});

test('activity options: a task queue only when given; bad input is never retried', () => {
  assert.equal('taskQueue' in shardActivity('1 minute'), false);
  assert.equal(shardActivity('1 minute', 'gpu').taskQueue, 'gpu');
  assert.equal(
    'taskQueue' in goldRunActivity({ heartbeatTimeout: '1 minute', runTimeout: '1 hour' }),
    false,
  );
  for (const retry of [controlRetry, shardActivity('1 minute').retry]) {
    assert.deepEqual(retry?.nonRetryableErrorTypes, NON_RETRYABLE_ERROR_TYPES);
  }
  assert.deepEqual(NON_RETRYABLE_ERROR_TYPES, ['SpecError', 'InputError']);
});
