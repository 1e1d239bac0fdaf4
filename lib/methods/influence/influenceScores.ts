/**
 * Influence-function scores s_i = q̃ᵀ g_i with q̃ = (H + λI)⁻¹ q, in two steps so the solve
 * happens once per query and the scoring can run shard by shard: preconditionQueries, then
 * scoresFromPreconditioned. Positive = proponent (upweighting z_i lowers the query loss).
 */
import type { ExampleFeatures } from '../../features';
import { accumulateProduct, emptyScores, type RowMatrix, type ScoreMatrix } from '../blockProduct';
import { vectorFeatures } from '../factoredFeatures';
import { checkFeatures, checkSameDim } from '../validate';

/** Applies an inverse-curvature solve to each query vector; returns queries × dim in float64. */
export function preconditionQueries(
  queryIn: ExampleFeatures,
  solve: (q: Float64Array) => Float64Array,
): RowMatrix {
  const query = vectorFeatures(queryIn);
  checkFeatures(query, 'influence query');
  const { rows, dim, data } = query.grads;
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const x = solve(Float64Array.from(data.subarray(r * dim, (r + 1) * dim)));
    if (x.length !== dim)
      throw new Error(`influence: solve returned length ${x.length}, expected ${dim}`);
    out.set(x, r * dim);
  }
  return { rows, dim, data: out };
}

/** s[q, i] = q̃_q · g_i for a (shard of the) training set. */
export function scoresFromPreconditioned(
  preconditioned: RowMatrix,
  trainIn: ExampleFeatures,
): ScoreMatrix {
  const train = vectorFeatures(trainIn);
  checkFeatures(train, 'influence train');
  if (preconditioned.dim !== train.grads.dim) {
    throw new Error(
      `influence: train dim ${train.grads.dim} does not match query dim ${preconditioned.dim}`,
    );
  }
  const out = emptyScores(preconditioned.rows, train.grads.rows);
  accumulateProduct(preconditioned, train.grads, out.data);
  return out;
}

export function influenceScores(
  trainIn: ExampleFeatures,
  queryIn: ExampleFeatures,
  solve: (q: Float64Array) => Float64Array,
): ScoreMatrix {
  const train = vectorFeatures(trainIn);
  const query = vectorFeatures(queryIn);
  checkFeatures(train, 'influence train');
  checkSameDim(train.grads, query.grads, 'influence');
  return scoresFromPreconditioned(preconditionQueries(query, solve), train);
}
