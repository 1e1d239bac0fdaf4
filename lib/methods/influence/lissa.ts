/**
 * LiSSA (Agarwal et al.): the Neumann series x_t = q + (I − (H + λI)/s) x_{t−1}, whose limit
 * divided by s is (H + λI)⁻¹ q when the scale s exceeds the largest eigenvalue of H + λI. The
 * hvp receives the iteration number so a caller can use a different minibatch each step.
 */

import type { SolveResult } from './conjugateGradient';
import { checkVector, dot, type LinearOperator } from './linearOperator';

export interface LissaOptions {
  damping?: number;
  /** s; by default 1.5 × a power-iteration estimate of the largest eigenvalue of H + λI. */
  scale?: number;
  /** Number of recursion steps. */
  depth?: number;
  /** Stop early when successive iterates differ by ≤ tolerance (relative). */
  tolerance?: number;
}

/** Largest eigenvalue of a symmetric positive semi-definite operator, by power iteration. */
export function largestEigenvalue(hvp: LinearOperator, dim: number, iterations = 50): number {
  let v = new Float64Array(dim);
  // A fixed, non-degenerate start keeps the estimate deterministic.
  for (let k = 0; k < dim; k++) v[k] = 1 + ((k * 7919) % 13) / 13;
  let norm = Math.sqrt(dot(v, v));
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    for (let k = 0; k < dim; k++) v[k] /= norm;
    const hv = hvp(v);
    lambda = dot(v, hv);
    norm = Math.sqrt(dot(hv, hv));
    if (norm === 0) return 0;
    v = Float64Array.from(hv);
  }
  return Math.max(lambda, norm);
}

export function lissa(
  hvp: LinearOperator,
  q: Float64Array,
  options: LissaOptions = {},
): SolveResult {
  const n = q.length;
  if (n === 0) throw new Error('lissa: empty right-hand side');
  checkVector(q, n, 'lissa q');
  const lambda = options.damping ?? 0;
  const scale = options.scale ?? 1.5 * (largestEigenvalue(hvp, n) + lambda);
  if (!(scale > 0)) throw new Error(`lissa: scale must be positive, got ${scale}`);
  const depth = options.depth ?? 1000;
  const tol = options.tolerance ?? 0;
  let x = Float64Array.from(q);
  let it = 0;
  let change = Number.POSITIVE_INFINITY;
  while (it < depth) {
    const hx = hvp(x, it);
    checkVector(hx, n, 'lissa hvp output');
    const next = new Float64Array(n);
    let diff = 0;
    let size = 0;
    for (let k = 0; k < n; k++) {
      next[k] = q[k] + x[k] - (hx[k] + lambda * x[k]) / scale;
      diff += (next[k] - x[k]) ** 2;
      size += next[k] ** 2;
    }
    if (!Number.isFinite(size)) {
      throw new Error('lissa: recursion diverged; the scale must exceed the largest eigenvalue');
    }
    x = next;
    it++;
    change = Math.sqrt(diff / Math.max(size, 1e-300));
    if (change <= tol) break;
  }
  for (let k = 0; k < n; k++) x[k] /= scale;
  return { x, iterations: it, relativeResidual: change };
}
