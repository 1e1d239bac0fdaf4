/**
 * EK-FAC influence (eigenvalue-corrected Kronecker-factored curvature; George et al. 2018, as
 * used for influence by Grosse et al. 2023). Per layer, a per-example gradient is the matrix
 * G = Σ_t δ_t a_tᵀ (out × in; t over positions: 1 for a Dense layer, patches for Conv2D). The
 * curvature, the empirical Fisher E[vec G vec Gᵀ], is approximated in the Kronecker eigenbasis
 * Q_S ⊗ Q_A of the covariances A = E[a aᵀ] and S = E[δ δᵀ], with each of its eigenvalues refitted
 * to the data: Λ_ij = E[M_ij²], M = Q_Sᵀ G Q_A. Then qᵀ(F + λI)⁻¹g = Σ_ij M^q_ij M^g_ij / (Λ_ij + λ)
 * layer by layer (block-diagonal), with λ = damping × mean(Λ) per layer.
 *
 * Works on unprojected gradient factors (lib/grad computeFactors), two passes over the data:
 * covariances, then eigenvalue correction. Products run on the TensorFlow.js backend in float32;
 * the covariances and eigenvalues accumulate in float64 and the eigendecomposition is float64.
 *
 * Over 300 lines because fitting, self-scores and query scores share the private rotation into
 * the eigenbasis (rotatedFactors, withBases), which is the whole of EK-FAC's arithmetic.
 */
import * as tf from '@tensorflow/tfjs-core';
import { allFinite } from '../../allFinite';
import type { FactorBlock } from '../../grad/types';
import { symmetricEigen } from '../../linalg/symmetricEigen';
import { emptyScores, type ScoreMatrix } from '../blockProduct';
import { type KfacPartial, kfacPartial, mergeKfacPartials, symmetrize } from './kfac';
import type { FisherLabels } from './sampledLabels';

export interface EkfacLayer {
  name: string;
  inDim: number;
  outDim: number;
  /** in × in and out × out eigenvector matrices (columns), row-major. */
  qA: Float32Array;
  qS: Float32Array;
  /** out × in refitted eigenvalues E[M_ij²]. */
  lambda: Float64Array;
  /** The absolute damping added to every eigenvalue of this layer. */
  damping: number;
}

export interface Ekfac {
  layers: EkfacLayer[];
  examples: number;
}

export interface EkfacOptions {
  /** λ per layer as a multiple of the mean refitted eigenvalue (default 0.1). */
  relativeDamping?: number;
  /**
   * The curvature's labels, for whoever builds the passes from a data set (fitDatasetEkfac):
   * drawn from the model (the true Fisher, default) or the observed ones (the empirical Fisher).
   */
  fisher?: FisherLabels;
}

/** One pass over the training data: each batch's factor blocks (same layers every batch). */
export type FactorPass = () => Iterable<FactorBlock[]>;

/** Checks a block's shape and the finiteness of its rows [r0, r1) (each product reads its own). */
function checkBlock(b: FactorBlock, r0 = 0, r1 = b.rows): Float32Array {
  if (!b.a) {
    throw new Error(
      `EK-FAC: layer "${b.layer}" (${b.layerType}) has one-hot inputs; select Dense, Conv2D or LoRA layers`,
    );
  }
  const n = b.rows * b.positions;
  if (b.a.length !== n * b.inDim || b.delta.length !== n * b.outDim) {
    throw new Error(`EK-FAC: block "${b.name}" factor sizes do not match its shape`);
  }
  const P = b.positions;
  const a = b.a.subarray(r0 * P * b.inDim, r1 * P * b.inDim);
  const delta = b.delta.subarray(r0 * P * b.outDim, r1 * P * b.outDim);
  if (!allFinite(a) || !allFinite(delta)) {
    throw new Error(`EK-FAC: block "${b.name}" has a NaN or infinite factor`);
  }
  return b.a;
}

/** Adds a product into `acc`, then frees it (the product is the caller's last use of it). */
function addInto(acc: Float64Array, t: tf.Tensor): void {
  const v = t.dataSync();
  t.dispose();
  for (let i = 0; i < v.length; i++) acc[i] += v[i];
}

/** Examples per product so that a [b, out, in] tensor stays near 4M floats. */
function subBatch(layer: { inDim: number; outDim: number }): number {
  return Math.max(1, Math.floor(4_000_000 / (layer.inDim * layer.outDim)));
}

/**
 * u = Q_Sᵀδ_t and v = Q_Aᵀa_t for every position t of examples [r0, r1): [b·P, out] and [b·P, in]
 * tensors (caller disposes).
 */
function rotatedFactors(
  b: FactorBlock,
  l: EkfacLayer,
  basis: Bases,
  r0: number,
  r1: number,
): [tf.Tensor2D, tf.Tensor2D] {
  const a = checkBlock(b, r0, r1);
  const P = b.positions;
  return tf.tidy(() => {
    const n = (r1 - r0) * P;
    const at = tf.tensor2d(a.subarray(r0 * P * l.inDim, r1 * P * l.inDim), [n, l.inDim]);
    const dt = tf.tensor2d(b.delta.subarray(r0 * P * l.outDim, r1 * P * l.outDim), [n, l.outDim]);
    return [tf.matMul(dt, basis.qS), tf.matMul(at, basis.qA)];
  });
}

/**
 * For one position per example (Dense), M = u vᵀ, so Σ_ij M_ij² w_ij = Σ_ij u_i² w_ij v_j²: a
 * product with w instead of an out × in matrix per example. Returns [u², v²].
 */
function rotatedSquares(
  ...examples: Parameters<typeof rotatedFactors>
): [tf.Tensor2D, tf.Tensor2D] {
  const [u, v] = rotatedFactors(...examples);
  const out = tf.tidy(() => [tf.square(u), tf.square(v)] as [tf.Tensor2D, tf.Tensor2D]);
  tf.dispose([u, v]);
  return out;
}

/** Rows per product on the one-position path (memory rows × (in + out), not rows × in × out). */
const DENSE_ROWS = 1024;

/** M = Σ_t u_t v_tᵀ = Q_Sᵀ G Q_A for examples [r0, r1), as [b, out, in] (caller disposes). */
function rotated(b: FactorBlock, l: EkfacLayer, basis: Bases, r0: number, r1: number): tf.Tensor3D {
  const [u, v] = rotatedFactors(b, l, basis, r0, r1);
  const n = r1 - r0;
  const P = b.positions;
  const m = tf.tidy(() =>
    tf.matMul(tf.reshape(u, [n, P, l.outDim]), tf.reshape(v, [n, P, l.inDim]), true, false),
  ) as tf.Tensor3D;
  tf.dispose([u, v]);
  return m;
}

export function fitEkfac(pass: FactorPass, opts: EkfacOptions = {}): Ekfac {
  const dampingFactor = opts.relativeDamping ?? 0.1;
  if (!(dampingFactor >= 0)) throw new Error(`EK-FAC: damping must be ≥ 0, got ${dampingFactor}`);
  // Pass 1: covariances (unnormalised: only their eigenvectors are used).
  let cov: KfacPartial | null = null;
  for (const blocks of pass()) {
    if (cov) checkLayers(cov.layers, blocks);
    for (const b of blocks) checkBlock(b);
    const p = kfacPartial(blocks);
    cov = cov ? mergeKfacPartials(cov, p) : p;
  }
  if (!cov || cov.examples === 0) throw new Error('EK-FAC: no training examples to fit on');
  const examples = cov.examples;
  const layers: EkfacLayer[] = cov.layers.map((l) => ({
    name: l.name,
    inDim: l.inDim,
    outDim: l.outDim,
    qA: Float32Array.from(symmetricEigen(symmetrize(l.a, l.inDim), l.inDim).vectors),
    qS: Float32Array.from(symmetricEigen(symmetrize(l.s, l.outDim), l.outDim).vectors),
    lambda: new Float64Array(l.outDim * l.inDim),
    damping: 0,
  }));
  // Pass 2: eigenvalue correction, Λ_ij = E[M_ij²].
  withBases(layers, (bases) => {
    for (const blocks of pass()) {
      checkLayers(layers, blocks);
      blocks.forEach((b, k) => {
        const l = layers[k];
        if (b.positions === 1) {
          for (let r0 = 0; r0 < b.rows; r0 += DENSE_ROWS) {
            const r1 = Math.min(b.rows, r0 + DENSE_ROWS);
            const [u2, v2] = rotatedSquares(b, l, bases[k], r0, r1);
            addInto(
              l.lambda,
              tf.tidy(() => tf.matMul(u2, v2, true, false)),
            );
            tf.dispose([u2, v2]);
          }
          return;
        }
        const step = subBatch(l);
        for (let r0 = 0; r0 < b.rows; r0 += step) {
          const m = rotated(b, l, bases[k], r0, Math.min(b.rows, r0 + step));
          addInto(
            l.lambda,
            tf.tidy(() => tf.sum(tf.square(m), 0)),
          );
          m.dispose();
        }
      });
    }
  });
  for (const l of layers) {
    let mean = 0;
    for (let i = 0; i < l.lambda.length; i++) {
      l.lambda[i] /= examples;
      mean += l.lambda[i];
    }
    mean /= l.lambda.length;
    l.damping = dampingFactor * mean;
    if (!(l.damping > 0) && dampingFactor > 0) l.damping = 1e-12;
  }
  return { layers, examples };
}

function checkLayers(
  layers: { name: string; inDim: number; outDim: number }[],
  blocks: FactorBlock[],
): void {
  if (
    blocks.length !== layers.length ||
    blocks.some(
      (b, k) =>
        b.name !== layers[k].name || b.inDim !== layers[k].inDim || b.outDim !== layers[k].outDim,
    )
  ) {
    throw new Error(
      `EK-FAC: factor blocks [${blocks.map((b) => b.name).join(', ')}] do not match the fitted layers [${layers.map((l) => l.name).join(', ')}]`,
    );
  }
}

interface Bases {
  qA: tf.Tensor2D;
  qS: tf.Tensor2D;
  /** 1 / (Λ + λ), out × in. */
  w: tf.Tensor2D;
}

function withBases<T>(layers: EkfacLayer[], f: (bases: Bases[]) => T): T {
  const bases = layers.map((l) => ({
    qA: tf.tensor2d(l.qA, [l.inDim, l.inDim]),
    qS: tf.tensor2d(l.qS, [l.outDim, l.outDim]),
    w: tf.tensor2d(
      Float32Array.from(l.lambda, (x) => 1 / (x + l.damping)),
      [l.outDim, l.inDim],
    ),
  }));
  try {
    return f(bases);
  } finally {
    for (const b of bases) tf.dispose([b.qA, b.qS, b.w]);
  }
}

/** Self-influence gᵀ(F + λI)⁻¹g of each example in `blocks` (one batch's factors). */
export function ekfacSelfScores(ekfac: Ekfac, blocks: FactorBlock[]): Float64Array {
  checkLayers(ekfac.layers, blocks);
  const rows = blocks[0]?.rows ?? 0;
  const out = new Float64Array(rows);
  withBases(ekfac.layers, (bases) => {
    blocks.forEach((b, k) => {
      const l = ekfac.layers[k];
      if (b.positions === 1) {
        for (let r0 = 0; r0 < rows; r0 += DENSE_ROWS) {
          const r1 = Math.min(rows, r0 + DENSE_ROWS);
          const [u2, v2] = rotatedSquares(b, l, bases[k], r0, r1);
          const t = tf.tidy(() => tf.sum(tf.mul(tf.matMul(u2, bases[k].w), v2), 1));
          const s = t.dataSync();
          tf.dispose([t, u2, v2]);
          for (let i = 0; i < s.length; i++) out[r0 + i] += s[i];
        }
        return;
      }
      const step = subBatch(l);
      for (let r0 = 0; r0 < rows; r0 += step) {
        const m = rotated(b, l, bases[k], r0, Math.min(rows, r0 + step));
        const t = tf.tidy(() => tf.sum(tf.mul(tf.square(m), bases[k].w), [1, 2]));
        const s = t.dataSync();
        tf.dispose([t, m]);
        for (let i = 0; i < s.length; i++) out[r0 + i] += s[i];
      }
    });
  });
  return out;
}

/**
 * Influence scores s[q, i] = qᵀ(F + λI)⁻¹g_i (positive = proponent) of training examples on
 * queries, both given as factor blocks (the queries' with the test function's gradients).
 * Costs queries × examples × parameters: for small models and data (the in-process runner).
 */
export function ekfacInfluence(
  ekfac: Ekfac,
  query: FactorBlock[],
  train: FactorBlock[],
): ScoreMatrix {
  checkLayers(ekfac.layers, query);
  checkLayers(ekfac.layers, train);
  const nq = query[0]?.rows ?? 0;
  const nt = train[0]?.rows ?? 0;
  const out = emptyScores(nq, nt);
  withBases(ekfac.layers, (bases) => {
    ekfac.layers.forEach((l, k) => {
      const { w } = bases[k];
      const d = l.outDim * l.inDim;
      const mq = rotated(query[k], l, bases[k], 0, nq);
      const pre = tf.tidy(() => tf.reshape(tf.mul(mq, w), [nq, d]));
      mq.dispose();
      const step = subBatch(l);
      for (let r0 = 0; r0 < nt; r0 += step) {
        const r1 = Math.min(nt, r0 + step);
        const mt = rotated(train[k], l, bases[k], r0, r1);
        const t = tf.tidy(() => tf.matMul(pre, tf.reshape(mt, [r1 - r0, d]), false, true));
        const s = t.dataSync();
        tf.dispose([t, mt]);
        for (let q = 0; q < nq; q++) {
          for (let i = r0; i < r1; i++) out.data[q * nt + i] += s[q * (r1 - r0) + (i - r0)];
        }
      }
      pre.dispose();
    });
  });
  return out;
}
