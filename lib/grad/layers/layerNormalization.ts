import * as tf from '@tensorflow/tfjs-core';
import type { LayerHandler } from './handler';
import { normAxes, normBlocks, normForward } from './normCore';

interface LayerNormLayer {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
}

/**
 * LayerNormalization: x̂ = (x − mean) / √(variance + ε) over the layer's axes of each example
 * (it depends on x, which autodiff carries back to earlier layers), y = γ ⊙ x̂ + β; the
 * per-example ∂γ = Σ_positions δ ⊙ x̂, ∂β = Σ δ (normCore).
 */
export const layerNormalizationHandler: LayerHandler = {
  probeShape: (_layer, inputShape) => inputShape,
  forward(layer, x, probe) {
    const l = layer as unknown as LayerNormLayer;
    const axes = normAxes(layer, l.axis, x.rank);
    const { mean, variance } = tf.moments(x, axes, true);
    const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, l.epsilon)));
    return normForward(
      xhat,
      {
        axes,
        gamma: l.scale && l.gamma ? l.gamma.read() : null,
        beta: l.center && l.beta ? l.beta.read() : null,
      },
      probe,
    );
  },
  blocks(layer, saved, delta) {
    const l = layer as unknown as LayerNormLayer;
    const axes = normAxes(layer, l.axis, saved[0].rank);
    return normBlocks(layer, saved[0], delta, axes, l.scale, l.center);
  },
};
