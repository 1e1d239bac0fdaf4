/** Conjugate gradient for (H + λI) x = q given only products with H. */
import { checkVector, dot, type LinearOperator } from './linearOperator';

export interface ConjugateGradientOptions {
  damping?: number;
  maxIterations?: number;
  /** Stop when ‖r‖ ≤ tolerance · ‖q‖. */
  tolerance?: number;
}

export interface SolveResult {
  x: Float64Array;
  iterations: number;
  /** Final relative residual ‖r‖ / ‖q‖ as tracked by the recursion. */
  relativeResidual: number;
}

export function conjugateGradient(
  hvp: LinearOperator,
  q: Float64Array,
  options: ConjugateGradientOptions = {},
): SolveResult {
  const n = q.length;
  if (n === 0) throw new Error('conjugateGradient: empty right-hand side');
  checkVector(q, n, 'conjugateGradient q');
  const lambda = options.damping ?? 0;
  const maxIt = options.maxIterations ?? 10 * n;
  const tol = options.tolerance ?? 1e-10;
  const apply = (v: Float64Array): Float64Array => {
    const hv = hvp(v);
    checkVector(hv, n, 'conjugateGradient hvp output');
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = hv[k] + lambda * v[k];
    return out;
  };
  const x = new Float64Array(n);
  const r = Float64Array.from(q);
  const p = Float64Array.from(q);
  const qNorm = Math.sqrt(dot(q, q));
  if (qNorm === 0) return { x, iterations: 0, relativeResidual: 0 };
  let rr = dot(r, r);
  let it = 0;
  while (it < maxIt && Math.sqrt(rr) > tol * qNorm) {
    const ap = apply(p);
    const pap = dot(p, ap);
    if (!(pap > 0)) {
      throw new Error(
        `conjugateGradient: operator is not positive definite (pᵀAp = ${pap}); raise damping`,
      );
    }
    const alpha = rr / pap;
    for (let k = 0; k < n; k++) {
      x[k] += alpha * p[k];
      r[k] -= alpha * ap[k];
    }
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    for (let k = 0; k < n; k++) p[k] = r[k] + beta * p[k];
    rr = rrNew;
    it++;
  }
  return { x, iterations: it, relativeResidual: Math.sqrt(rr) / qNorm };
}
