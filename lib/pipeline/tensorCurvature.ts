import * as tf from '@tensorflow/tfjs-core';
import { allFinite } from '../allFinite';
import type { ExampleFeatures, GradientMatrix } from '../features';
import { gradientVectors, hasFactors, vectorSize } from '../methods/factoredFeatures';
import { lowerTriangularInverse } from '../methods/influence/influenceSelf';
import type { GramPartial, ProjectedCurvature } from '../methods/influence/projectedCurvature';
import { checkFeatures, checkMatrix } from '../methods/validate';

/**
 * The projected influence self-score's two products on the TensorFlow.js backend, for the same
 * reason as tensorScores (plain-JS float64 products reach about 3 GFLOP/s, wasm's matMul over 20):
 * each chunk's Gram matrix GᵀG in float32, summed over chunks in float64; and ‖L⁻¹g_i‖² as the
 * float64 row norms of the float32 product G L⁻ᵀ. lib/methods/influence (gramPartial,
 * influenceSelfScores) is the float64 reference they are tested against. Factored layers are
 * expanded to their vectors chunk by chunk (vectorRows), never for the whole shard in JS.
 */
const ROWS_PER_CHUNK = 2048;

/** The vector size the rows stand for (gradientVectors' dim, without expanding them). */
function vectorDim(m: GradientMatrix): number {
  return hasFactors(m) ? m.layers.reduce((s, l) => s + vectorSize(l), 0) : m.dim;
}

/**
 * Rows [start, start + rows) of gradientVectors(m) as a backend tensor, bit for bit: a layer
 * stored as one position's factors becomes the float32 products a_p·δ_q on the backend (the
 * product of two float32 values is exact in float64, so gradientVectors' float64 product rounded
 * to float32 is the same correctly rounded value); a layer of several positions sums its products
 * in float64 first, so such matrices are expanded by gradientVectors, a chunk at a time.
 * Must run inside tf.tidy.
 */
function vectorRows(m: GradientMatrix, start: number, rows: number): tf.Tensor2D {
  const data = m.data.subarray(start * m.dim, (start + rows) * m.dim);
  if (!hasFactors(m)) return tf.tensor2d(data, [rows, m.dim]);
  if (m.layers.some((l) => l.factors && l.factors.positions !== 1)) {
    const v = gradientVectors({ ...m, rows, data });
    return tf.tensor2d(v.data, [rows, v.dim]);
  }
  const f = tf.tensor2d(data, [rows, m.dim]);
  const pieces = m.layers.map((l) => {
    if (!l.factors) return tf.slice(f, [0, l.offset], [-1, l.size]);
    const { inDim, outDim } = l.factors;
    const a = tf.slice(f, [0, l.offset], [-1, inDim]);
    const d = tf.slice(f, [0, l.offset + inDim], [-1, outDim]);
    // Row-major a ⊗ δ: entry p·outDim + q is a_p·δ_q, gradientVectors' order.
    return tf.reshape(tf.mul(tf.expandDims(a, 2), tf.expandDims(d, 1)), [rows, inDim * outDim]);
  });
  return (pieces.length === 1 ? pieces[0] : tf.concat(pieces, 1)) as tf.Tensor2D;
}

/**
 * Finite stored values may still overflow float32 in their products (a factored layer's a_p·δ_q,
 * which gradientVectors' vectors would hold as ±Infinity, or the product itself): refused, not
 * passed on as an infinite curvature or score.
 */
function checkFiniteProducts(values: Float32Array, what: string, start: number, rows: number) {
  if (!allFinite(values)) {
    throw new Error(
      `${what}: non-finite product of rows ${start}–${start + rows - 1} (their values overflow float32)`,
    );
  }
}

/** Σ g_i g_iᵀ over the rows (a shard): the same partial as gramPartial. */
export async function tensorGramPartial(
  grads: GradientMatrix,
  onChunk: () => void = () => {},
): Promise<GramPartial> {
  const what = 'projectedCurvature shard';
  // The stored values (factors or vectors) are checked; their products below.
  checkMatrix(grads, what, { allowEmpty: true });
  const k = vectorDim(grads);
  const gram = new Float64Array(k * k);
  for (let start = 0; start < grads.rows; start += ROWS_PER_CHUNK) {
    const m = Math.min(ROWS_PER_CHUNK, grads.rows - start);
    const block = tf.tidy(() => {
      const g = vectorRows(grads, start, m);
      return tf.matMul(g, g, true, false);
    });
    const s = block.dataSync() as Float32Array;
    block.dispose();
    // A non-finite vector entry makes its diagonal entry non-finite.
    checkFiniteProducts(s, what, start, m);
    for (let i = 0; i < s.length; i++) gram[i] += s[i];
    // Heartbeat, and let a worker's event loop send it, between products.
    onChunk();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { dim: k, count: grads.rows, gram };
}

/**
 * L⁻¹ in float32 per factored curvature, formed once (k³/3 float64 operations: 10 ms at k = 320)
 * and not once per shard: a run's steps read the same curvature objects (RunContext caches them).
 */
const inverses = new WeakMap<ProjectedCurvature, Float32Array>();

function inverseOf(curvature: ProjectedCurvature): Float32Array {
  let inv = inverses.get(curvature);
  if (!inv) {
    inv = Float32Array.from(lowerTriangularInverse(curvature.factor, curvature.dim));
    inverses.set(curvature, inv);
  }
  return inv;
}

/** g_iᵀ (F + λI)⁻¹ g_i for every row: the same scores as influenceSelfScores. */
export async function tensorInfluenceSelf(
  trainIn: ExampleFeatures,
  curvature: ProjectedCurvature,
  onChunk: () => void = () => {},
): Promise<Float64Array> {
  const what = 'influenceSelf train';
  checkFeatures(trainIn, what, { allowEmpty: true });
  const k = curvature.dim;
  const dim = vectorDim(trainIn.grads);
  if (dim !== k) {
    throw new Error(`influenceSelf: train dim ${dim} does not match curvature dim ${k}`);
  }
  const n = trainIn.grads.rows;
  const out = new Float64Array(n);
  const inv = tf.tensor2d(inverseOf(curvature), [k, k]);
  try {
    for (let start = 0; start < n; start += ROWS_PER_CHUNK) {
      const m = Math.min(ROWS_PER_CHUNK, n - start);
      const block = tf.tidy(() => tf.matMul(vectorRows(trainIn.grads, start, m), inv, false, true));
      const y = block.dataSync() as Float32Array;
      block.dispose();
      checkFiniteProducts(y, what, start, m);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += y[i * k + c] * y[i * k + c];
        out[start + i] = s;
      }
      onChunk();
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    inv.dispose();
  }
  return out;
}
