/**
 * Self-influence under projected influence functions: s_i = g_iᵀ (F + λI)⁻¹ g_i with the damped
 * projected Gauss-Newton / empirical Fisher of projectedCurvature. With F + λI = L Lᵀ this is
 * ‖L⁻¹ g_i‖², so L⁻¹ is formed once (k³/3) and each example costs one k×k product row.
 * High values flag examples the rest of the data does not explain (mislabeled or rare).
 */
import type { CheckpointInfo, ExampleFeatures } from '../../features';
import { accumulateProduct } from '../blockProduct';
import { vectorFeatures } from '../factoredFeatures';
import { checkCheckpoints, checkFeatures } from '../validate';
import { type Ekfac, ekfacSelfScores } from './ekfac';
import { factorKfac, kfacPartial, storedFactorBlocks } from './kfac';
import { type KroneckerSketch, sketchFeatures } from './kroneckerSketch';
import {
  type CurvatureOptions,
  type ProjectedCurvature,
  projectedCurvature,
} from './projectedCurvature';

/** L⁻¹ of a lower-triangular k×k L (row-major), by forward substitution per column. */
export function lowerTriangularInverse(l: Float64Array, k: number): Float64Array {
  if (l.length !== k * k) throw new Error(`triangular inverse: ${l.length} entries for ${k}²`);
  const inv = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    inv[c * k + c] = 1 / l[c * k + c];
    for (let r = c + 1; r < k; r++) {
      let s = 0;
      for (let p = c; p < r; p++) s += l[r * k + p] * inv[p * k + c];
      inv[r * k + c] = -s / l[r * k + r];
    }
  }
  return inv;
}

const ROWS_PER_CHUNK = 1024;

/** The rows an influence self-score is taken of, as vectors, checked against the curvature. */
export function selfScoreRows(trainIn: ExampleFeatures, curvature: ProjectedCurvature) {
  const train = vectorFeatures(trainIn);
  checkFeatures(train, 'influenceSelf train', { allowEmpty: true });
  if (train.grads.dim !== curvature.dim) {
    throw new Error(
      `influenceSelf: train dim ${train.grads.dim} does not match curvature dim ${curvature.dim}`,
    );
  }
  return train;
}

/** g_iᵀ (F + λI)⁻¹ g_i for every row of `train` (a shard or the whole set). */
export function influenceSelfScores(
  trainIn: ExampleFeatures,
  curvature: ProjectedCurvature,
): Float64Array {
  const train = selfScoreRows(trainIn, curvature);
  const k = curvature.dim;
  const inv = { rows: k, dim: k, data: lowerTriangularInverse(curvature.factor, k) };
  const n = train.grads.rows;
  const out = new Float64Array(n);
  // Chunks keep the n×k intermediate L⁻¹ g small.
  for (let start = 0; start < n; start += ROWS_PER_CHUNK) {
    const m = Math.min(ROWS_PER_CHUNK, n - start);
    const rows = {
      rows: m,
      dim: k,
      data: train.grads.data.subarray(start * k, (start + m) * k),
    };
    const y = new Float64Array(m * k);
    accumulateProduct(rows, inv, y);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += y[i * k + c] * y[i * k + c];
      out[start + i] = s;
    }
  }
  return out;
}

/**
 * Influence-function self-influence along training: Σ_c η_c g_i(θ_c)ᵀ (F_c + λ_c I)⁻¹ g_i(θ_c),
 * TracIn-CP's learning-rate-weighted checkpoint sum with each checkpoint's own damped curvature.
 * Why: a flipped label that the model has memorised by θ_f scores low there (small gradient, small
 * loss) but high at the checkpoints before; the curvature whitens the directions every example
 * moves along (the input scale of each layer), which plain ‖g‖² does not.
 *
 * `curvature`: options to build each checkpoint's curvature from `train[c]` (the whole training
 * set), or one curvature per checkpoint fitted elsewhere (for `train` a shard).
 */
export function influenceSelfOverCheckpoints(
  trainIn: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
  curvature: CurvatureOptions | ProjectedCurvature[] = {},
): Float64Array {
  const train = trainIn.map(vectorFeatures);
  checkCheckpoints(train, null, checkpoints, 'influenceSelfOverCheckpoints');
  if (Array.isArray(curvature) && curvature.length !== checkpoints.length) {
    throw new Error(
      `influenceSelfOverCheckpoints: ${curvature.length} curvatures for ${checkpoints.length} checkpoints`,
    );
  }
  const out = new Float64Array(train[0].grads.rows);
  checkpoints.forEach((cp, c) => {
    const fc = Array.isArray(curvature) ? curvature[c] : projectedCurvature(train[c], curvature);
    const s = influenceSelfScores(train[c], fc);
    for (let i = 0; i < s.length; i++) out[i] += cp.learningRate * s[i];
  });
  return out;
}

/**
 * The same self-score with each checkpoint's curvature K-FAC-factored from the stored factors
 * (kfac.ts): Σ_c η_c g_iᵀ(F_c + λ_c I)⁻¹g_i with F_c ≈ E[δδᵀ] ⊗ E[aaᵀ] per layer (block-diagonal
 * over layers), λ_c = relativeDamping × each layer's mean eigenvalue. For features stored as
 * factors, whose exact curvature would be (in·out)² numbers. `curvatures`: one per checkpoint
 * fitted elsewhere (for `train` a shard), else fitted on `train` (the whole training set).
 */
export function kfacSelfOverCheckpoints(
  train: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
  options: { relativeDamping?: number } = {},
  curvatures?: Ekfac[],
): Float64Array {
  checkCheckpoints(train, null, checkpoints, 'kfacSelfOverCheckpoints');
  if (curvatures && curvatures.length !== checkpoints.length) {
    throw new Error(
      `kfacSelfOverCheckpoints: ${curvatures.length} curvatures for ${checkpoints.length} checkpoints`,
    );
  }
  const out = new Float64Array(train[0].grads.rows);
  checkpoints.forEach((cp, c) => {
    const blocks = storedFactorBlocks(train[c], 'influence self-score (K-FAC)');
    const fc = curvatures?.[c] ?? factorKfac(kfacPartial(blocks), options);
    const s = ekfacSelfScores(fc, blocks);
    for (let i = 0; i < s.length; i++) out[i] += cp.learningRate * s[i];
  });
  return out;
}

/** How a spec's influence self-score is computed (runSpec's `selfScore`, less its layers). */
export interface InfluenceSelfSettings {
  curvature?: 'gram' | 'kfac';
  sketch?: KroneckerSketch;
  relativeDamping?: number;
}

/**
 * The influence self-score over in-memory features (their layers already chosen) as a spec's
 * settings ask: the features sketched first when they say so (kroneckerSketch.ts), then the Gram
 * (influenceSelfOverCheckpoints) or K-FAC (kfacSelfOverCheckpoints) curvature from all the rows.
 * What the in-memory runner computes, in float64; the pipeline's streaming passes are tested
 * against it.
 */
export function influenceSelfWith(
  train: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
  settings: InfluenceSelfSettings,
): Float64Array {
  const { sketch, relativeDamping } = settings;
  const feats = sketch ? train.map((f) => sketchFeatures(f, sketch)) : train;
  return settings.curvature === 'kfac'
    ? kfacSelfOverCheckpoints(feats, checkpoints, { relativeDamping })
    : influenceSelfOverCheckpoints(feats, checkpoints, { relativeDamping });
}
