import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkMatrix } from '../../../lib/methods/validate';

test('checkMatrix: every non-finite value is found and named, in the 4-wide part and the tail', () => {
  const rows = 3;
  const dim = 5; // 15 values: 12 in the 4-wide sums, 3 in the tail
  const base = [0, -0, 1.5, -3e38, 3e38, 1e-45, -1e-45, 7, -7, 0, 2, -2, 0.5, -0, 9];
  checkMatrix({ rows, dim, data: Float32Array.from(base), layers: [] }, 'finite');
  for (let k = 0; k < base.length; k++) {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const data = Float32Array.from(base);
      data[k] = v;
      assert.throws(
        () => checkMatrix({ rows, dim, data, layers: [] }, 'm'),
        new RegExp(
          `^Error: m: non-finite gradient value ${v} at row ${Math.floor(k / dim)}, column ${k % dim}$`,
        ),
      );
    }
  }
});
