import * as tf from '@tensorflow/tfjs-core';
import type { LayerHandler } from './handler';
import { broadcastParam, normAxes, normBlocks, normForward } from './normCore';

interface BatchNormLayer {
  axis: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor };
  movingVariance: { read(): tf.Tensor };
}

/**
 * BatchNormalization in inference mode: x̂ = (x − moving mean) / √(moving variance + ε) is fixed
 * per example, so y = γ ⊙ x̂ + β and the per-example ∂γ = Σ_positions δ ⊙ x̂, ∂β = Σ δ (normCore).
 */
export const batchNormalizationHandler: LayerHandler = {
  probeShape: (_layer, inputShape) => inputShape,
  forward(layer, x, probe) {
    const l = layer as unknown as BatchNormLayer;
    const axes = normAxes(layer, l.axis, x.rank);
    const shape = x.shape as number[];
    const mean = broadcastParam(l.movingMean.read(), axes, shape);
    const variance = broadcastParam(l.movingVariance.read(), axes, shape);
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
    const l = layer as unknown as BatchNormLayer;
    const axes = normAxes(layer, l.axis, saved[0].rank);
    return normBlocks(layer, saved[0], delta, axes, l.scale, l.center);
  },
};
