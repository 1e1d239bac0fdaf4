/** Dense float64 Cholesky factorisation and solves, for the k×k projected curvature. */

/** Lower-triangular L with A = L Lᵀ (A symmetric positive definite, k×k row-major). */
export function cholesky(a: Float64Array, k: number): Float64Array {
  if (a.length !== k * k)
    throw new Error(`cholesky: matrix has ${a.length} entries, expected ${k}²`);
  const l = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let s = a[j * k + j];
    for (let p = 0; p < j; p++) s -= l[j * k + p] * l[j * k + p];
    if (!(s > 0)) {
      throw new Error(
        `cholesky: matrix is not positive definite (pivot ${j} = ${s}); raise damping`,
      );
    }
    const d = Math.sqrt(s);
    l[j * k + j] = d;
    for (let i = j + 1; i < k; i++) {
      let t = a[i * k + j];
      const ri = i * k;
      const rj = j * k;
      for (let p = 0; p < j; p++) t -= l[ri + p] * l[rj + p];
      l[ri + j] = t / d;
    }
  }
  return l;
}

/** Solves L Lᵀ x = b in place on a copy of b. */
export function choleskySolve(l: Float64Array, k: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b as ArrayLike<number>);
  for (let i = 0; i < k; i++) {
    let s = x[i];
    for (let p = 0; p < i; p++) s -= l[i * k + p] * x[p];
    x[i] = s / l[i * k + i];
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = x[i];
    for (let p = i + 1; p < k; p++) s -= l[p * k + i] * x[p];
    x[i] = s / l[i * k + i];
  }
  return x;
}
