/**
 * Projections of factored per-example gradients to fixed-length vectors (see ProjectorSpec).
 * Each block gets its own column slice. Random matrices come from random.ts, entry by entry, so
 * they are the same on every worker; the dense ones are generated a chunk of rows at a time and
 * never held whole.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradientMatrix, LayerSlice } from '../features';
import { addGradient } from './blockMath';
import { factorLayout, writeFactors } from './factorStorage';
import { roundToFloat16 } from './float16';
import {
  type KroneckerPair,
  kroneckerPair,
  kroneckerSides,
  projectSidesTf,
  projectVector,
} from './kroneckerFactor';
import { checkProjector } from './projectorSpec';
import { fillRandomRows, hashName } from './random';
import type { FactorBlock, ProjectorSpec } from './types';

/** Output columns of one block under a projector (its factors' when those are smaller). */
export function projectedSize(b: FactorBlock, spec: ProjectorSpec): number {
  const f = factorLayout(b, spec);
  if (f) return f.positions * (f.inDim + f.outDim);
  if (spec.kind === 'none') return b.inDim * b.outDim;
  if (spec.kind === 'kronecker') {
    const [k1, k2] = kroneckerSides(b, spec);
    return k1 * k2;
  }
  return spec.k;
}

/** Where a block's projected rows go: row i at out[i · stride + col0 …]. */
interface RowTarget {
  out: Float32Array;
  stride: number;
  col0: number;
}

/** A Kronecker engine: writes b's rows projected by the pair (js and tf give the same values). */
type KroneckerEngine = (b: FactorBlock, pair: KroneckerPair, target: RowTarget) => void;

const kroneckerJs: KroneckerEngine = (b, { k1, k2, Pin, Pout }, { out, stride, col0 }) => {
  const { rows, positions: T, inDim, outDim } = b;
  const u = new Float64Array(k1);
  const v = new Float64Array(k2);
  const acc = new Float64Array(k1 * k2);
  const viaFull =
    !b.tokens &&
    T * (inDim * k1 + outDim * k2 + k1 * k2) >
      T * inDim * outDim + inDim * outDim * k2 + inDim * k1 * k2;
  const g = viaFull ? new Float64Array(inDim * outDim) : null;
  const w = viaFull ? new Float64Array(inDim * k2) : null;
  for (let i = 0; i < rows; i++) {
    acc.fill(0);
    if (g && w) {
      // Many positions, few parameters (a small conv): form G, then P_inᵀ (G P_out).
      g.fill(0);
      addGradient(b, i, g);
      w.fill(0);
      for (let p = 0; p < inDim; p++) {
        for (let o = 0; o < outDim; o++) {
          const gv = g[p * outDim + o];
          if (gv === 0) continue;
          for (let j = 0; j < k2; j++) w[p * k2 + j] += gv * Pout[o * k2 + j];
        }
      }
      for (let p = 0; p < inDim; p++) {
        for (let r = 0; r < k1; r++) {
          const pr = Pin[p * k1 + r];
          for (let j = 0; j < k2; j++) acc[r * k2 + j] += pr * w[p * k2 + j];
        }
      }
    } else {
      for (let t = 0; t < T; t++) {
        const pos = i * T + t;
        if (b.tokens) {
          const r0 = b.tokens[pos] * k1;
          for (let j = 0; j < k1; j++) u[j] = Pin[r0 + j];
        } else projectVector(b.a as Float32Array, pos * inDim, inDim, Pin, k1, u);
        projectVector(b.delta, pos * outDim, outDim, Pout, k2, v);
        for (let r = 0; r < k1; r++) {
          const ur = u[r];
          if (ur === 0) continue;
          for (let j = 0; j < k2; j++) acc[r * k2 + j] += ur * v[j];
        }
      }
    }
    const o = i * stride + col0;
    for (let j = 0; j < acc.length; j++) out[o + j] = acc[j];
  }
};

const kroneckerTf: KroneckerEngine = (b, pair, { out, stride, col0 }) => {
  const { rows, positions: T } = b;
  const { k1, k2 } = pair;
  const res = tf.tidy(() => {
    const [U, V] = projectSidesTf(b, pair);
    if (T === 1) return [U, V];
    return [tf.matMul(tf.reshape(U, [rows, T, k1]), tf.reshape(V, [rows, T, k2]), true, false)];
  });
  if (res.length === 1) {
    const m = res[0].dataSync();
    for (let i = 0; i < rows; i++)
      out.set(m.subarray(i * k1 * k2, (i + 1) * k1 * k2), i * stride + col0);
  } else {
    const u = res[0].dataSync();
    const v = res[1].dataSync();
    for (let i = 0; i < rows; i++) {
      const o = i * stride + col0;
      for (let r = 0; r < k1; r++) {
        const ur = u[i * k1 + r];
        for (let j = 0; j < k2; j++) out[o + r * k2 + j] = ur * v[i * k2 + j];
      }
    }
  }
  tf.dispose(res);
};

/** Rows of the block's gradient covered by input rows [q0, q1) of example i, into g. */
function gradientRows(b: FactorBlock, i: number, q0: number, q1: number, g: Float64Array) {
  const { positions: T, inDim, outDim, a, tokens, delta } = b;
  g.fill(0);
  for (let t = 0; t < T; t++) {
    const pos = i * T + t;
    const d0 = pos * outDim;
    if (tokens) {
      const q = tokens[pos];
      if (q < q0 || q >= q1) continue;
      const o0 = (q - q0) * outDim;
      for (let o = 0; o < outDim; o++) g[o0 + o] += delta[d0 + o];
      continue;
    }
    const a0 = pos * inDim;
    for (let q = q0; q < q1; q++) {
      const aq = (a as Float32Array)[a0 + q];
      if (aq === 0) continue;
      const o0 = (q - q0) * outDim;
      for (let o = 0; o < outDim; o++) g[o0 + o] += aq * delta[d0 + o];
    }
  }
}

function dense(
  b: FactorBlock,
  spec: { kind: 'gaussian' | 'rademacher'; k: number; seed: number; engine?: 'js' | 'tf' },
  out: Float32Array,
  stride: number,
  col0: number,
) {
  const { rows, inDim, outDim } = b;
  const k = spec.k;
  const key = hashName(b.name);
  // Chunks of whole input rows, about 2^20 matrix entries each.
  const qStep = Math.max(1, Math.floor(2 ** 20 / (outDim * k)));
  const R = new Float32Array(Math.min(qStep, inDim) * outDim * k);
  const useTf = spec.engine === 'tf';
  const acc = new Float64Array(rows * k);
  let accT: tf.Tensor | null = useTf ? tf.zeros([rows, k]) : null;
  for (let q0 = 0; q0 < inDim; q0 += qStep) {
    const q1 = Math.min(inDim, q0 + qStep);
    const n = (q1 - q0) * outDim;
    fillRandomRows(R, spec.kind, spec.seed, key, q0 * outDim, n, k, 1 / Math.sqrt(k));
    if (accT) {
      const G = new Float32Array(rows * n);
      const g = new Float64Array(n);
      for (let i = 0; i < rows; i++) {
        gradientRows(b, i, q0, q1, g);
        G.set(g, i * n);
      }
      const prev: tf.Tensor = accT;
      accT = tf.tidy(() =>
        tf.add(
          prev,
          tf.matMul(tf.tensor2d(G, [rows, n]), tf.tensor2d(R.subarray(0, n * k), [n, k])),
        ),
      );
      prev.dispose();
      continue;
    }
    const g = new Float64Array(n);
    for (let i = 0; i < rows; i++) {
      gradientRows(b, i, q0, q1, g);
      const a0 = i * k;
      for (let p = 0; p < n; p++) {
        const gp = g[p];
        if (gp === 0) continue;
        const r0 = p * k;
        for (let j = 0; j < k; j++) acc[a0 + j] += gp * R[r0 + j];
      }
    }
  }
  const src: ArrayLike<number> = accT ? accT.dataSync() : acc;
  if (accT) accT.dispose();
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < k; j++) out[i * stride + col0 + j] = src[i * k + j];
  }
}

/** The column slices of a batch's blocks under a projector, and the row width. */
export function projectedLayout(
  blocks: FactorBlock[],
  spec: ProjectorSpec,
): { layers: LayerSlice[]; dim: number } {
  const layers: LayerSlice[] = [];
  let dim = 0;
  for (const b of blocks) {
    const size = projectedSize(b, spec);
    const factors = factorLayout(b, spec);
    layers.push(
      factors ? { name: b.name, offset: dim, size, factors } : { name: b.name, offset: dim, size },
    );
    dim += size;
  }
  return { layers, dim };
}

/**
 * Projects a batch's factor blocks into a GradientMatrix (rows × Σ block sizes), one column
 * slice per block, under the given projector; a block whose (projected) factors are smaller than
 * its (projected) gradient keeps those instead (factorStorage.ts). Into `out` (its first rows ×
 * dim values) when given.
 */
export function projectBlocks(
  blocks: FactorBlock[],
  spec: ProjectorSpec,
  out?: Float32Array,
): GradientMatrix & { sqNorms: (Float64Array | undefined)[] } {
  checkProjector(spec);
  const { layers, dim } = projectedLayout(blocks, spec);
  const rows = blocks[0]?.rows ?? 0;
  if (out && out.length < rows * dim) {
    throw new Error(`projectBlocks: output holds ${out.length} values, ${rows} × ${dim} needed`);
  }
  // Every value of the rows is written below, so a caller's array needs no clearing.
  const data = out ? out.subarray(0, rows * dim) : new Float32Array(rows * dim);
  // Per block, the exact squared norms when its copy gave them (writeFactors).
  const sqNorms: (Float64Array | undefined)[] = blocks.map(() => undefined);
  blocks.forEach((b, idx) => {
    const col0 = layers[idx].offset;
    const factors = layers[idx].factors;
    if (factors) sqNorms[idx] = writeFactors(b, factors, spec, data, dim, col0);
    else if (spec.kind === 'none') {
      const g = new Float64Array(b.inDim * b.outDim);
      for (let i = 0; i < rows; i++) {
        g.fill(0);
        addGradient(b, i, g);
        for (let p = 0; p < g.length; p++) data[i * dim + col0 + p] = g[p];
      }
    } else if (spec.kind === 'kronecker') {
      const engine = spec.engine === 'tf' && !b.tokens ? kroneckerTf : kroneckerJs;
      engine(b, kroneckerPair(b, spec.seed, kroneckerSides(b, spec)), {
        out: data,
        stride: dim,
        col0,
      });
    } else dense(b, spec, data, dim, col0);
  });
  // -0 becomes +0 (x + 0 is x for every other value); writeFactors wrote factors that way. A
  // ReLU's zero slope times a negative number gives -0 in δ: 13-14% of bench:main's stored
  // numbers. No product or sum changes but for the sign of an all-zero result, and a
  // zero-suppressed file (lib/pipeline/zeroSuppressed) drops +0 by its bits alone: bench:main's
  // files became about a quarter smaller.
  layers.forEach(({ factors, offset, size }) => {
    if (factors) return;
    for (let i = 0; i < rows; i++) {
      const o = i * dim + offset;
      for (let k = o; k < o + size; k++) data[k] += 0;
    }
  });
  if (spec.dtype === 'float16') roundToFloat16(data);
  return { rows, dim, data, layers, sqNorms };
}
