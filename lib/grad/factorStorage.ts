/**
 * Per layer, features store whatever is smaller (SPEC "Feature storage"): a block's gradient
 * Σ_t a_t ⊗ δ_t (inDim·outDim numbers, or k1·k2 under a Kronecker projector) or its factors
 * (T·(inDim + outDim), or T·(k1 + k2) projected: the Kronecker projection of a rank-T sum is the
 * sum of the projected outer products, so projected factors are exactly the projected gradient).
 * A Dense layer's exact factors (785 + 256 numbers for 784 → 256 with the bias's 1 appended) are
 * far smaller than its gradient and often than any projection of it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FactorLayout } from '../features';
import { kroneckerPair, kroneckerSides, projectSidesTf, projectVector } from './kroneckerFactor';
import type { FactorBlock, ProjectorSpec } from './types';

/**
 * The factored layout of a block under a projector, or null when the (projected) gradient is
 * no larger. Embedding blocks (one-hot inputs) and dense random projections never factor.
 */
export function factorLayout(b: FactorBlock, spec: ProjectorSpec): FactorLayout | null {
  if (b.tokens) return null;
  let sides: [number, number];
  if (spec.kind === 'none') sides = [b.inDim, b.outDim];
  else if (spec.kind === 'kronecker') sides = kroneckerSides(b, spec);
  else return null;
  const [k1, k2] = sides;
  return b.positions * (k1 + k2) < k1 * k2
    ? { positions: b.positions, inDim: k1, outDim: k2 }
    : null;
}

/**
 * Writes each example's factors (a_1..a_T then δ_1..δ_T, projected by P_in / P_out under a
 * Kronecker projector) into out[i·stride + col0 ...], each as x + 0 (-0 becomes +0, as
 * projectBlocks makes every value). For unprojected factors of one position the copy also gives
 * each example's exact ‖G_i‖² = ‖a‖²‖δ‖², summed in float64 in blockSqNorms' order: returned
 * then (one pass over the values instead of a copy, a pass for the sign and one for the norms).
 */
export function writeFactors(
  b: FactorBlock,
  layout: FactorLayout,
  spec: ProjectorSpec,
  out: Float32Array,
  stride: number,
  col0: number,
): Float64Array | undefined {
  const { rows, positions: T, inDim, outDim } = b;
  const a = b.a as Float32Array;
  const { inDim: k1, outDim: k2 } = layout;
  if (spec.kind !== 'kronecker') {
    const norms = T === 1 ? new Float64Array(rows) : undefined;
    const na = T * inDim;
    const nd = T * outDim;
    const sa = new Float64Array(4);
    const sd = new Float64Array(4);
    for (let i = 0; i < rows; i += 4) {
      const n = Math.min(4, rows - i);
      const o = i * stride + col0;
      copySquares(a, i * na, na, out, o, stride, n, sa);
      copySquares(b.delta, i * nd, nd, out, o + na, stride, n, sd);
      if (norms) for (let r = 0; r < n; r++) norms[i + r] = sa[r] * sd[r];
    }
    return norms;
  }
  const pair = kroneckerPair(b, spec.seed, [k1, k2]);
  const { Pin, Pout } = pair;
  if (spec.engine === 'tf') {
    // Two matMuls on the backend for the whole batch.
    const [u, v] = tf.tidy(() => projectSidesTf(b, pair));
    const ud = u.dataSync();
    const vd = v.dataSync();
    tf.dispose([u, v]);
    const nu = T * k1;
    const nv = T * k2;
    for (let i = 0; i < rows; i++) {
      const o = i * stride + col0;
      for (let p = 0; p < nu; p++) out[o + p] = ud[i * nu + p] + 0;
      for (let q = 0; q < nv; q++) out[o + nu + q] = vd[i * nv + q] + 0;
    }
    return undefined;
  }
  const u = new Float64Array(k1);
  const v = new Float64Array(k2);
  for (let i = 0; i < rows; i++) {
    const o = i * stride + col0;
    for (let t = 0; t < T; t++) {
      const pos = i * T + t;
      projectVector(a, pos * inDim, inDim, Pin, k1, u);
      projectVector(b.delta, pos * outDim, outDim, Pout, k2, v);
      // Rounded first: a tiny negative u rounds to -0, which the + 0 then makes +0.
      for (let j = 0; j < k1; j++) out[o + t * k1 + j] = Math.fround(u[j]) + 0;
      for (let j = 0; j < k2; j++) out[o + T * k1 + t * k2 + j] = Math.fround(v[j]) + 0;
    }
  }
  return undefined;
}

/**
 * Copies n ≤ 4 consecutive rows of `len` values (from src[s0], rows `len` apart) to out[o0], rows
 * `stride` apart, each as x + 0, and puts each row's Σx² (float64, in column order: blockSqNorms'
 * bits) in sums[r]. Four rows at once: four independent running sums instead of one, whose
 * add-after-add latency bounded the one-row loop (writeFactors was 10% of a worker's CPU in
 * bench:main's shard step, `perf record`; 1.5-2 times faster on its MLP's blocks, a scratch timing).
 */
function copySquares(
  src: Float32Array,
  s0: number,
  len: number,
  out: Float32Array,
  o0: number,
  stride: number,
  n: number,
  sums: Float64Array,
): void {
  if (n === 4) {
    let q0 = 0;
    let q1 = 0;
    let q2 = 0;
    let q3 = 0;
    for (let p = 0; p < len; p++) {
      const v0 = src[s0 + p];
      const v1 = src[s0 + len + p];
      const v2 = src[s0 + 2 * len + p];
      const v3 = src[s0 + 3 * len + p];
      q0 += v0 * v0;
      q1 += v1 * v1;
      q2 += v2 * v2;
      q3 += v3 * v3;
      out[o0 + p] = v0 + 0;
      out[o0 + stride + p] = v1 + 0;
      out[o0 + 2 * stride + p] = v2 + 0;
      out[o0 + 3 * stride + p] = v3 + 0;
    }
    sums[0] = q0;
    sums[1] = q1;
    sums[2] = q2;
    sums[3] = q3;
    return;
  }
  for (let r = 0; r < n; r++) {
    let q = 0;
    const si = s0 + r * len;
    const oi = o0 + r * stride;
    for (let p = 0; p < len; p++) {
      const v = src[si + p];
      q += v * v;
      out[oi + p] = v + 0;
    }
    sums[r] = q;
  }
}
