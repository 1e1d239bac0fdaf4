import * as tf from '@tensorflow/tfjs-core';
import type { ExampleFeatures, GradientMatrix } from '../features';
import { gradientVectors } from '../methods/factoredFeatures';
import { lowerTriangularInverse, selfScoreRows } from '../methods/influence/influenceSelf';
import type { GramPartial, ProjectedCurvature } from '../methods/influence/projectedCurvature';
import { checkMatrix } from '../methods/validate';

/**
 * The projected influence self-score's two products on the TensorFlow.js backend, for the same
 * reason as tensorScores (plain-JS float64 products reach about 3 GFLOP/s, wasm's matMul over 20):
 * each chunk's Gram matrix GᵀG in float32, summed over chunks in float64; and ‖L⁻¹g_i‖² as the
 * float64 row norms of the float32 product G L⁻ᵀ. lib/methods/influence (gramPartial,
 * influenceSelfScores) is the float64 reference they are tested against.
 */
const ROWS_PER_CHUNK = 2048;

const rowsOf = (m: GradientMatrix, start: number, rows: number) =>
  tf.tensor2d(m.data.subarray(start * m.dim, (start + rows) * m.dim), [rows, m.dim]);

/** Σ g_i g_iᵀ over the rows (a shard): the same partial as gramPartial. */
export async function tensorGramPartial(gradsIn: GradientMatrix): Promise<GramPartial> {
  const grads = gradientVectors(gradsIn);
  checkMatrix(grads, 'projectedCurvature shard', true);
  const k = grads.dim;
  const gram = new Float64Array(k * k);
  for (let start = 0; start < grads.rows; start += ROWS_PER_CHUNK) {
    const m = Math.min(ROWS_PER_CHUNK, grads.rows - start);
    const block = tf.tidy(() => {
      const g = rowsOf(grads, start, m);
      return tf.matMul(g, g, true, false);
    });
    const s = block.dataSync() as Float32Array;
    block.dispose();
    for (let i = 0; i < s.length; i++) gram[i] += s[i];
    // Let a worker's event loop run (heartbeats) between products.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { dim: k, count: grads.rows, gram };
}

/** g_iᵀ (F + λI)⁻¹ g_i for every row: the same scores as influenceSelfScores. */
export async function tensorInfluenceSelf(
  trainIn: ExampleFeatures,
  curvature: ProjectedCurvature,
): Promise<Float64Array> {
  const train = selfScoreRows(trainIn, curvature);
  const k = curvature.dim;
  const n = train.grads.rows;
  const out = new Float64Array(n);
  const inv = tf.tensor2d(Float32Array.from(lowerTriangularInverse(curvature.factor, k)), [k, k]);
  try {
    for (let start = 0; start < n; start += ROWS_PER_CHUNK) {
      const m = Math.min(ROWS_PER_CHUNK, n - start);
      const block = tf.tidy(() => tf.matMul(rowsOf(train.grads, start, m), inv, false, true));
      const y = block.dataSync() as Float32Array;
      block.dispose();
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += y[i * k + c] * y[i * k + c];
        out[start + i] = s;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    inv.dispose();
  }
  return out;
}
