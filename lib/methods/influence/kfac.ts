/**
 * K-FAC curvature from gradient factors, as partial sums: per layer A = Σ a_t a_tᵀ and
 * S = Σ δ_t δ_tᵀ over examples and positions (in² + out² numbers, whatever the shard size), summed
 * over shards and workers and factored once into the Kronecker eigenbasis Q_S ⊗ Q_A with
 * eigenvalues Λ_ij = (σ_i / n)(α_j / n) of E[δδᵀ] ⊗ E[aaᵀ]. The result is an Ekfac with those Λ
 * (no eigenvalue correction, which would cost one more pass), so ekfacSelfScores applies it.
 * Why: a factored layer's exact curvature is (in·out)² numbers (1290² for a 129 → 10 logits
 * layer, 200 GFLOP per 60,000 examples to accumulate); its Kronecker factors cost 129² + 10².
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExampleFeatures } from '../../features';
import type { FactorBlock } from '../../grad/types';
import { symmetricEigen } from '../../linalg/symmetricEigen';
import type { Ekfac } from './ekfac';

export interface KfacLayerPartial {
  name: string;
  inDim: number;
  outDim: number;
  /** in × in Σ a aᵀ and out × out Σ δ δᵀ, row-major. */
  a: Float64Array;
  s: Float64Array;
}

/** Plain data: shipped between activities and summed in any order. */
export interface KfacPartial {
  examples: number;
  layers: KfacLayerPartial[];
}

function addInto(acc: Float64Array, t: tf.Tensor): void {
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) acc[i] += v[i];
}

/** The covariance sums of one batch or shard of factor blocks (products on the tfjs backend). */
export function kfacPartial(blocks: FactorBlock[]): KfacPartial {
  const layers = blocks.map((b) => {
    if (!b.a) {
      throw new Error(
        `K-FAC: layer "${b.layer}" (${b.layerType}) has one-hot inputs; select Dense, Conv2D or LoRA layers`,
      );
    }
    const n = b.rows * b.positions;
    const a = new Float64Array(b.inDim * b.inDim);
    const s = new Float64Array(b.outDim * b.outDim);
    tf.tidy(() => {
      const at = tf.tensor2d(b.a as Float32Array, [n, b.inDim]);
      const dt = tf.tensor2d(b.delta, [n, b.outDim]);
      addInto(a, tf.matMul(at, at, true, false));
      addInto(s, tf.matMul(dt, dt, true, false));
    });
    return { name: b.name, inDim: b.inDim, outDim: b.outDim, a, s };
  });
  return { examples: blocks[0]?.rows ?? 0, layers };
}

export function mergeKfacPartials(x: KfacPartial, y: KfacPartial): KfacPartial {
  const same =
    x.layers.length === y.layers.length &&
    x.layers.every(
      (l, k) =>
        l.name === y.layers[k].name &&
        l.inDim === y.layers[k].inDim &&
        l.outDim === y.layers[k].outDim,
    );
  if (!same) throw new Error('K-FAC: merging partials of different layers');
  const sum = (u: Float64Array, v: Float64Array) => u.map((e, i) => e + v[i]);
  return {
    examples: x.examples + y.examples,
    layers: x.layers.map((l, k) => ({
      ...l,
      a: sum(l.a, y.layers[k].a),
      s: sum(l.s, y.layers[k].s),
    })),
  };
}

/** Makes a numerically asymmetric covariance exactly symmetric, in place. */
export function symmetrize(m: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const x = 0.5 * (m[i * n + j] + m[j * n + i]);
      m[i * n + j] = x;
      m[j * n + i] = x;
    }
  }
  return m;
}

/**
 * The damped curvature from summed partials: λ = relativeDamping × the mean eigenvalue of each
 * layer's E[δδᵀ] ⊗ E[aaᵀ] (as the projected Gram's λ is of its F).
 */
export function factorKfac(p: KfacPartial, options: { relativeDamping?: number } = {}): Ekfac {
  const rel = options.relativeDamping ?? 0.1;
  if (!(rel >= 0)) throw new Error(`K-FAC: relative damping must be ≥ 0, got ${rel}`);
  const n = p.examples;
  if (n === 0) throw new Error('K-FAC: no training examples');
  const layers = p.layers.map((l) => {
    const ea = symmetricEigen(symmetrize(Float64Array.from(l.a), l.inDim), l.inDim);
    const es = symmetricEigen(symmetrize(Float64Array.from(l.s), l.outDim), l.outDim);
    const lambda = new Float64Array(l.outDim * l.inDim);
    let mean = 0;
    for (let i = 0; i < l.outDim; i++) {
      for (let j = 0; j < l.inDim; j++) {
        // Clamped at 0: round-off can leave a tiny negative eigenvalue of a PSD covariance.
        const v = Math.max(0, (es.values[i] / n) * (ea.values[j] / n));
        lambda[i * l.inDim + j] = v;
        mean += v;
      }
    }
    mean /= lambda.length;
    const damping = rel * mean > 0 ? rel * mean : 1e-12;
    return {
      name: l.name,
      inDim: l.inDim,
      outDim: l.outDim,
      qA: Float32Array.from(ea.vectors),
      qS: Float32Array.from(es.vectors),
      lambda,
      damping,
    };
  });
  return { layers, examples: n };
}

/**
 * The factor blocks of stored features whose every layer holds factors (LayerSlice.factors), for
 * curvature and scores that work on factors; a layer stored as a (projected) gradient is named in
 * the error.
 */
export function storedFactorBlocks(f: ExampleFeatures, what: string): FactorBlock[] {
  const { rows, dim, data, layers } = f.grads;
  return layers.map((l) => {
    if (!l.factors) {
      throw new Error(
        `${what}: layer "${l.name}" is stored as a (projected) gradient, not as factors; ` +
          'it needs layers stored as factors: dense inputs (no Embedding) at positions few enough ' +
          'that their factors are smaller than their gradient, under projector none or a ' +
          'Kronecker projector whose factors are smaller than its k1 × k2 (selfScore.layers ' +
          'chooses the layers)',
      );
    }
    const { positions: T, inDim, outDim } = l.factors;
    const a = new Float32Array(rows * T * inDim);
    const delta = new Float32Array(rows * T * outDim);
    for (let i = 0; i < rows; i++) {
      const o = i * dim + l.offset;
      a.set(data.subarray(o, o + T * inDim), i * T * inDim);
      delta.set(data.subarray(o + T * inDim, o + T * (inDim + outDim)), i * T * outDim);
    }
    return {
      name: l.name,
      layer: l.name,
      layerType: 'stored',
      rows,
      positions: T,
      inDim,
      outDim,
      a,
      delta,
      params: [],
    };
  });
}
