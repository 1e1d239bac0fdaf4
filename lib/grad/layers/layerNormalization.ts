import * as tf from '@tensorflow/tfjs-core';
import { type NormLayer, normHandler } from './normCore';

/**
 * LayerNormalization: x̂ = (x − mean) / √(variance + ε) over the layer's axes of each example
 * (it depends on x, which autodiff carries back to earlier layers), y = γ ⊙ x̂ + β; the
 * per-example ∂γ = Σ_positions δ ⊙ x̂, ∂β = Σ δ (normCore).
 */
export const layerNormalizationHandler = normHandler<NormLayer>((_l, x, axes) =>
  tf.moments(x, axes, true),
);
