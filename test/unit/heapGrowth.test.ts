import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAP_GROWING_PERCENT, setHeapGrowth } from '../../lib/heapGrowth';

test('setHeapGrowth: the default, a user value, V8 adaptive (0), and a bad value named', () => {
  assert.equal(setHeapGrowth({}), HEAP_GROWING_PERCENT);
  assert.equal(setHeapGrowth({ TDA_HEAP_GROWING_PERCENT: '300' }), 300);
  assert.equal(setHeapGrowth({ TDA_HEAP_GROWING_PERCENT: '0' }), 0);
  for (const bad of ['-1', '1.5', 'lots']) {
    assert.throws(
      () => setHeapGrowth({ TDA_HEAP_GROWING_PERCENT: bad }),
      new RegExp(`TDA_HEAP_GROWING_PERCENT must be a non-negative integer, got "${bad}"`),
    );
  }
});
