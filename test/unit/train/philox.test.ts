import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchIndices, epochPermutation } from '../../../lib/train/batchOrder';
import { dropoutMask } from '../../../lib/train/dropoutMask';
import { philox4x32, seedKey } from '../../../lib/train/philox';

const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0')).join(' ');

test('philox4x32-10 matches the Random123 known-answer vectors', () => {
  assert.equal(hex(philox4x32(0, 0, 0, 0, 0, 0)), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  const f = 0xffffffff;
  assert.equal(hex(philox4x32(f, f, f, f, f, f)), '408f276d 41c83b0e a20bc7c6 6d5451fd');
  assert.equal(
    hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0)),
    'd16cfe09 94fdcceb 5001e420 24126ea1',
  );
});

test('seeds must be non-negative safe integers', () => {
  assert.throws(() => seedKey(-1), /seed/);
  assert.throws(() => seedKey(1.5), /seed/);
  assert.deepEqual(seedKey(2 ** 32 + 7), [7, 1]);
});

test('each epoch is a permutation; a step is computable without replaying earlier steps', () => {
  const n = 23;
  const b = 5;
  for (let e = 0; e < 3; e++) {
    const p = Array.from(epochPermutation(9, e, n)).sort((x, y) => x - y);
    assert.deepEqual(
      p,
      Array.from({ length: n }, (_, i) => i),
    );
  }
  // Step 13 = epoch 2, batch 3 (5 batches per epoch: 4 of 5, one of 3).
  const direct = batchIndices(9, 13, n, b);
  assert.deepEqual(Array.from(direct), Array.from(epochPermutation(9, 2, n).slice(15, 20)));
  assert.equal(batchIndices(9, 4, n, b).length, 3);
  const seen: number[] = [];
  for (let s = 0; s < 5; s++) seen.push(...batchIndices(9, s, n, b));
  assert.equal(new Set(seen).size, n);
  assert.notDeepEqual(
    Array.from(epochPermutation(9, 0, n)),
    Array.from(epochPermutation(10, 0, n)),
  );
  assert.notDeepEqual(Array.from(epochPermutation(9, 0, n)), Array.from(epochPermutation(9, 1, n)));
  assert.throws(() => batchIndices(9, 0, n, 0), /batchSize/);
});

test('dropout masks are keyed by example, not by batch position', () => {
  const a = dropoutMask(3, 7, 2, [10, 11, 12], 9, 0.5);
  const b = dropoutMask(3, 7, 2, [12, 10], 9, 0.5);
  assert.deepEqual(Array.from(a.subarray(18, 27)), Array.from(b.subarray(0, 9)));
  assert.deepEqual(Array.from(a.subarray(0, 9)), Array.from(b.subarray(9, 18)));
  assert.notDeepEqual(Array.from(a), Array.from(dropoutMask(3, 8, 2, [10, 11, 12], 9, 0.5)));
  assert.notDeepEqual(Array.from(a), Array.from(dropoutMask(3, 7, 3, [10, 11, 12], 9, 0.5)));
  const big = dropoutMask(
    1,
    0,
    0,
    Int32Array.from({ length: 100 }, (_, i) => i),
    100,
    0.3,
  );
  const kept = big.filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / big.length - 0.7) < 0.03, `kept ${kept.length}`);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  assert.throws(() => dropoutMask(1, 0, 0, [0], 4, 1), /rate/);
});
