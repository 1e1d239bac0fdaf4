import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigen } from '../../../lib/linalg/symmetricEigen';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** max |A Q − Q Λ| and max |QᵀQ − I|, relative to the largest |eigenvalue|. */
function residuals(a: Float64Array, n: number) {
  const { values, vectors: q } = symmetricEigen(a, n);
  let scale = 1e-300;
  for (const x of values) scale = Math.max(scale, Math.abs(x));
  let fit = 0;
  let orth = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let aq = 0;
      let qq = 0;
      for (let k = 0; k < n; k++) {
        aq += a[i * n + k] * q[k * n + j];
        qq += q[k * n + i] * q[k * n + j];
      }
      fit = Math.max(fit, Math.abs(aq - q[i * n + j] * values[j]) / scale);
      orth = Math.max(orth, Math.abs(qq - (i === j ? 1 : 0)));
    }
  }
  for (let j = 1; j < n; j++) assert.ok(values[j] >= values[j - 1], 'ascending');
  return { fit, orth, values };
}

test('symmetric eigendecomposition: A Q = Q Λ with Q orthogonal, on random and awkward matrices', () => {
  const r = rng(5);
  for (const n of [1, 2, 3, 8, 40, 97]) {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r();
    }
    const { fit, orth } = residuals(a, n);
    assert.ok(fit < 1e-12 && orth < 1e-12, `n=${n}: fit ${fit}, orthogonality ${orth}`);
  }
  // A low-rank covariance (repeated zero eigenvalues) like a layer's input covariance.
  const n = 30;
  const x = Array.from({ length: 5 * n }, r);
  const cov = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      for (let s = 0; s < 5; s++) cov[i * n + j] += x[s * n + i] * x[s * n + j];
    }
  }
  const low = residuals(cov, n);
  assert.ok(low.fit < 1e-12 && low.orth < 1e-12);
  assert.equal(low.values.filter((v) => Math.abs(v) > 1e-10).length, 5, 'rank 5');
  // Known spectrum: diag(3, 1, 2) and the 2×2 [[2, 1], [1, 2]] (eigenvalues 1 and 3).
  assert.deepEqual(
    Array.from(symmetricEigen(Float64Array.of(3, 0, 0, 0, 1, 0, 0, 0, 2), 3).values),
    [1, 2, 3],
  );
  const two = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2).values;
  assert.ok(Math.abs(two[0] - 1) < 1e-14 && Math.abs(two[1] - 3) < 1e-14);
  assert.throws(() => symmetricEigen(Float64Array.of(1, 2, 3, 4), 2), /not symmetric at \(1, 0\)/);
  assert.throws(
    () => symmetricEigen(Float64Array.of(1, Number.NaN, Number.NaN, 1), 2),
    /not finite/,
  );
});
