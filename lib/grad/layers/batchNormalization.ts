import type * as tf from '@tensorflow/tfjs-core';
import { broadcastParam, type NormLayer, normHandler } from './normCore';

interface BatchNormLayer extends NormLayer {
  movingMean: { read(): tf.Tensor };
  movingVariance: { read(): tf.Tensor };
}

/**
 * BatchNormalization in inference mode: x̂ = (x − moving mean) / √(moving variance + ε) is fixed
 * per example, so y = γ ⊙ x̂ + β and the per-example ∂γ = Σ_positions δ ⊙ x̂, ∂β = Σ δ (normCore).
 */
export const batchNormalizationHandler = normHandler<BatchNormLayer>((l, x, axes) => ({
  mean: broadcastParam(l.movingMean.read(), axes, x.shape as number[]),
  variance: broadcastParam(l.movingVariance.read(), axes, x.shape as number[]),
}));
