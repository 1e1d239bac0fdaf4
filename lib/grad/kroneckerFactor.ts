/**
 * The Kronecker projector's parts shared by the projected gradient (projectors.ts) and the
 * projected factors (factorStorage.ts): its per-side sizes, its random factors P_in and P_out,
 * and one side's projection of a vector.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fillRandomRows, hashName } from './random';
import type { FactorBlock } from './types';

/**
 * The Kronecker projector's sizes for a block: a side no larger than its k is kept exact (the
 * identity) instead of being mapped into more dimensions than it has. Why: the logits layer of a
 * 10-class model projected to k2 = 32 had 32 columns of rank 10 per input column, three times the
 * work for every product downstream and only an approximation of what it could keep exactly.
 */
export function kroneckerSides(
  b: Pick<FactorBlock, 'inDim' | 'outDim'>,
  spec: { k1: number; k2: number },
): [number, number] {
  return [Math.min(spec.k1, b.inDim), Math.min(spec.k2, b.outDim)];
}

const kronCache = new Map<string, Float32Array>();
/**
 * P (rows × cols), N(0, 1/cols) entries, keyed by (seed, block name, side); the identity when
 * cols = rows (a side kept exact, see kroneckerSides).
 */
export function kroneckerFactor(
  seed: number,
  key: string,
  rows: number,
  cols: number,
): Float32Array {
  const id = `${seed}|${key}|${rows}|${cols}`;
  let p = kronCache.get(id);
  if (!p) {
    p = new Float32Array(rows * cols);
    if (cols === rows) for (let r = 0; r < rows; r++) p[r * cols + r] = 1;
    else fillRandomRows(p, 'gaussian', seed, hashName(key), 0, rows, cols, 1 / Math.sqrt(cols));
    if (kronCache.size > 64) kronCache.clear();
    kronCache.set(id, p);
  }
  return p;
}

/** u[j] (+)= Σ_p x[x0+p]·P[p, j], skipping zero inputs (ReLU outputs, padding). */
export function projectVector(
  x: ArrayLike<number>,
  x0: number,
  n: number,
  P: Float32Array,
  k: number,
  u: Float64Array,
) {
  u.fill(0);
  for (let p = 0; p < n; p++) {
    const v = x[x0 + p];
    if (v === 0) continue;
    const b = p * k;
    for (let j = 0; j < k; j++) u[j] += v * P[b + j];
  }
}

/** A block's Kronecker sides, P_in (inDim × k1) and P_out (outDim × k2), drawn from its name. */
export interface KroneckerPair {
  k1: number;
  k2: number;
  Pin: Float32Array;
  Pout: Float32Array;
}

/** The pair every Kronecker engine and the factor storage use for block `b`. */
export function kroneckerPair(
  b: { name: string; inDim: number; outDim: number },
  seed: number,
  [k1, k2]: [number, number],
): KroneckerPair {
  return {
    k1,
    k2,
    Pin: kroneckerFactor(seed, `${b.name}#in`, b.inDim, k1),
    Pout: kroneckerFactor(seed, `${b.name}#out`, b.outDim, k2),
  };
}

/**
 * Every position's projected sides on the backend, U = A·P_in and V = Δ·P_out (rows·T × k1 and
 * rows·T × k2, float32 sums: bits follow the backend). Call inside tf.tidy.
 */
export function projectSidesTf(
  b: FactorBlock,
  { k1, k2, Pin, Pout }: KroneckerPair,
): [tf.Tensor2D, tf.Tensor2D] {
  const n = b.rows * b.positions;
  return [
    tf.matMul(tf.tensor2d(b.a as Float32Array, [n, b.inDim]), tf.tensor2d(Pin, [b.inDim, k1])),
    tf.matMul(tf.tensor2d(b.delta, [n, b.outDim]), tf.tensor2d(Pout, [b.outDim, k2])),
  ];
}
