/**
 * Influence at scale: curvature in the projected gradient space, the damped empirical Fisher /
 * Gauss-Newton F = (1/n) Σ g_i g_iᵀ + λI (k×k), built from stored projected gradients shard by
 * shard (memory k², not n), factored once by Cholesky in float64, applied to every query.
 */
import type { ExampleFeatures, GradientMatrix } from '../../features';
import { accumulateProduct, type ScoreMatrix } from '../blockProduct';
import { gradientVectors, vectorFeatures } from '../factoredFeatures';
import { checkFeatures, checkMatrix } from '../validate';
import { cholesky, choleskySolve } from './cholesky';
import { preconditionQueries, scoresFromPreconditioned } from './influenceScores';

/** Σ g_i g_iᵀ and n over the shards seen so far; plain data so partials can be shipped and summed. */
export interface GramPartial {
  dim: number;
  count: number;
  /** dim × dim row-major. */
  gram: Float64Array;
}

const ROWS_PER_BLOCK = 256;

/** Gram partial of one shard (transposed in blocks so the shared product helper does the work). */
export function gramPartial(gradsIn: GradientMatrix): GramPartial {
  const grads = gradientVectors(gradsIn);
  checkMatrix(grads, 'projectedCurvature shard', { allowEmpty: true });
  const k = grads.dim;
  const gram = new Float64Array(k * k);
  for (let start = 0; start < grads.rows; start += ROWS_PER_BLOCK) {
    const m = Math.min(ROWS_PER_BLOCK, grads.rows - start);
    const t = new Float64Array(k * m);
    for (let r = 0; r < m; r++) {
      const o = (start + r) * k;
      for (let c = 0; c < k; c++) t[c * m + r] = grads.data[o + c];
    }
    const tm = { rows: k, dim: m, data: t };
    accumulateProduct(tm, tm, gram);
  }
  return { dim: k, count: grads.rows, gram };
}

export function mergeGramPartials(a: GramPartial, b: GramPartial): GramPartial {
  if (a.dim !== b.dim) throw new Error(`projectedCurvature: merging dims ${a.dim} and ${b.dim}`);
  const gram = new Float64Array(a.gram.length);
  for (let k = 0; k < gram.length; k++) gram[k] = a.gram[k] + b.gram[k];
  return { dim: a.dim, count: a.count + b.count, gram };
}

export interface CurvatureOptions {
  /** Absolute damping λ. Default: relativeDamping × trace(F)/k (the mean eigenvalue). */
  damping?: number;
  relativeDamping?: number;
}

export interface ProjectedCurvature {
  dim: number;
  damping: number;
  /** Cholesky factor L of F + λI, dim × dim row-major lower-triangular. */
  factor: Float64Array;
}

export function factorCurvature(
  partial: GramPartial,
  options: CurvatureOptions = {},
): ProjectedCurvature {
  const { dim: k, count: n, gram } = partial;
  if (n === 0) throw new Error('projectedCurvature: no training examples');
  const f = new Float64Array(k * k);
  let trace = 0;
  for (let i = 0; i < k * k; i++) f[i] = gram[i] / n;
  for (let i = 0; i < k; i++) trace += f[i * k + i];
  const damping = options.damping ?? (options.relativeDamping ?? 0.1) * (trace / k);
  if (!(damping >= 0) || !Number.isFinite(damping)) {
    throw new Error(`projectedCurvature: damping must be finite and ≥ 0, got ${damping}`);
  }
  for (let i = 0; i < k; i++) f[i * k + i] += damping;
  return { dim: k, damping, factor: cholesky(f, k) };
}

/** Convenience: the curvature of an in-memory training set. */
export function projectedCurvature(
  trainIn: ExampleFeatures,
  options: CurvatureOptions = {},
): ProjectedCurvature {
  const train = vectorFeatures(trainIn);
  checkFeatures(train, 'projectedCurvature train');
  return factorCurvature(gramPartial(train.grads), options);
}

export function projectedSolve(curvature: ProjectedCurvature): (q: Float64Array) => Float64Array {
  return (q) => choleskySolve(curvature.factor, curvature.dim, q);
}

/** Scores of a (shard of the) training set against queries, with curvature computed beforehand. */
export function projectedInfluence(
  trainIn: ExampleFeatures,
  queryIn: ExampleFeatures,
  curvature: ProjectedCurvature,
): ScoreMatrix {
  const train = vectorFeatures(trainIn);
  const query = vectorFeatures(queryIn);
  if (query.grads.dim !== curvature.dim) {
    throw new Error(
      `projectedInfluence: query dim ${query.grads.dim} does not match curvature dim ${curvature.dim}`,
    );
  }
  return scoresFromPreconditioned(preconditionQueries(query, projectedSolve(curvature)), train);
}
