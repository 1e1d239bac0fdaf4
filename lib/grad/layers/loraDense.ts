import * as tf from '@tensorflow/tfjs-core';
import { LoraDense } from '../LoraDense';
import type { FactorBlock } from '../types';
import { type Layer, type LayerHandler, positionsOf, values } from './handler';

function asLora(layer: Layer): LoraDense {
  if (!(layer instanceof LoraDense)) throw new Error(`layer '${layer.name}' is not a LoraDense`);
  return layer;
}

/**
 * LoRA adapters on a Dense: with h = scale·x A, z = x W + b + h B. Gradients w.r.t. the adapters
 * only, both factored: G_B = Σ_t h_t ⊗ δ_t and G_A = Σ_t x_t ⊗ (scale·B δ_t).
 */
export const loraDenseHandler: LayerHandler = {
  probeShape(layer, inputShape) {
    return [...inputShape.slice(0, -1), asLora(layer).units];
  },
  forward(layer, x, probe) {
    const l = asLora(layer);
    const { z: z0, h } = l.preActivation(x);
    const z = probe ? tf.add(z0, probe) : z0;
    return { z, y: l.activate(z), saved: [x, h] };
  },
  blocks(layer, saved, delta): FactorBlock[] {
    const l = asLora(layer);
    const [x, h] = saved;
    const rows = x.shape[0];
    const positions = positionsOf(x.shape);
    const inDim = x.shape[x.shape.length - 1];
    const d2 = tf.reshape(delta, [-1, l.units]) as tf.Tensor2D;
    const dA = tf.tidy(() =>
      tf.mul(tf.matMul(d2, l.loraB.read() as tf.Tensor2D, false, true), l.scale),
    );
    const dAv = values(dA);
    dA.dispose();
    d2.dispose();
    const common = { layer: layer.name, layerType: 'LoraDense', rows, positions };
    return [
      {
        ...common,
        name: `${layer.name}/A`,
        inDim,
        outDim: l.rank,
        a: values(x),
        delta: dAv,
        params: [{ name: l.loraA.name, shape: l.loraA.shape as number[] }],
      },
      {
        ...common,
        name: `${layer.name}/B`,
        inDim: l.rank,
        outDim: l.units,
        a: values(h),
        delta: values(delta),
        params: [{ name: l.loraB.name, shape: l.loraB.shape as number[] }],
      },
    ];
  },
};
