/** A symmetric linear operator on flat float64 vectors (a Hessian-vector product, say). */
export type LinearOperator = (v: Float64Array, iteration?: number) => Float64Array;

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}

export function checkVector(v: ArrayLike<number>, dim: number, what: string): void {
  if (v.length !== dim) throw new Error(`${what}: vector has length ${v.length}, expected ${dim}`);
  for (let k = 0; k < v.length; k++) {
    if (!Number.isFinite(v[k])) throw new Error(`${what}: non-finite value at ${k}`);
  }
}
