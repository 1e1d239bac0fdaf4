/**
 * Exact gradient dot products between two example sets straight from the factors, never forming
 * gradients: ⟨G_i, G_j⟩ = Σ_{t,s} (a_it·a_js)(δ_it·δ_js), which is (a_i·a_j)(δ_i·δ_j) for one
 * position (SPEC). Blocks with many positions and few parameters are formed explicitly when that
 * is cheaper; Embedding blocks compare token rows.
 */
import { addGradient, materializeIsCheaper, tokenRows } from './blockMath';
import type { FactorBlock } from './types';

export interface ExactDots {
  /** nX × nY row-major, summed over blocks. */
  total: Float64Array;
  /** Per block (same order as the inputs), nX × nY each. */
  perBlock: Float64Array[];
}

function blockDots(x: FactorBlock, y: FactorBlock): Float64Array {
  if (x.name !== y.name || x.inDim !== y.inDim || x.outDim !== y.outDim) {
    throw new Error(`exactDots: blocks do not match ('${x.name}' vs '${y.name}')`);
  }
  const n = x.rows;
  const m = y.rows;
  const out = new Float64Array(n * m);
  const { inDim, outDim } = x;
  if (x.tokens) {
    const ry = Array.from({ length: m }, (_, j) => tokenRows(y, j));
    for (let i = 0; i < n; i++) {
      const rx = tokenRows(x, i);
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (const [tok, r] of rx) {
          const q = ry[j].get(tok);
          if (q) for (let o = 0; o < outDim; o++) s += r[o] * q[o];
        }
        out[i * m + j] = s;
      }
    }
    return out;
  }
  const T = x.positions;
  const U = y.positions;
  if (T > 1 || U > 1) {
    if (materializeIsCheaper(x) && materializeIsCheaper(y)) {
      const size = inDim * outDim;
      const gy = new Float64Array(m * size);
      for (let j = 0; j < m; j++) addGradient(y, j, gy.subarray(j * size, (j + 1) * size));
      const gx = new Float64Array(size);
      for (let i = 0; i < n; i++) {
        gx.fill(0);
        addGradient(x, i, gx);
        for (let j = 0; j < m; j++) {
          let s = 0;
          const o = j * size;
          for (let p = 0; p < size; p++) s += gx[p] * gy[o + p];
          out[i * m + j] = s;
        }
      }
      return out;
    }
  }
  const ax = x.a as Float32Array;
  const ay = y.a as Float32Array;
  const dx = x.delta;
  const dy = y.delta;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let t = 0; t < T; t++) {
        const pa = (i * T + t) * inDim;
        const pd = (i * T + t) * outDim;
        for (let u = 0; u < U; u++) {
          const qa = (j * U + u) * inDim;
          const qd = (j * U + u) * outDim;
          let aa = 0;
          for (let k = 0; k < inDim; k++) aa += ax[pa + k] * ay[qa + k];
          if (aa === 0) continue;
          let dd = 0;
          for (let k = 0; k < outDim; k++) dd += dx[pd + k] * dy[qd + k];
          s += aa * dd;
        }
      }
      out[i * m + j] = s;
    }
  }
  return out;
}

/** Exact ⟨g_i, g_j⟩ over all blocks for every i in X, j in Y (same model and selection). */
export function exactDots(xBlocks: FactorBlock[], yBlocks: FactorBlock[]): ExactDots {
  if (xBlocks.length !== yBlocks.length) {
    throw new Error(`exactDots: ${xBlocks.length} blocks vs ${yBlocks.length}`);
  }
  const perBlock = xBlocks.map((b, k) => blockDots(b, yBlocks[k]));
  const total = new Float64Array(perBlock[0]?.length ?? 0);
  for (const p of perBlock) for (let i = 0; i < p.length; i++) total[i] += p[i];
  return { total, perBlock };
}
