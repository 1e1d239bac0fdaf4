import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { dropoutMask } from './dropoutMask';

/**
 * The forward pass used for training and for test functions. It walks a chain of layers itself
 * rather than calling model.apply, for two reasons: dropout masks must come from our
 * counter-based generator (tfjs draws them from Math.random), and a final softmax must be
 * skipped so the loss is computed from the logits.
 */

type Layer = LayersModel['layers'][number];

/** Layers whose behaviour in training differs from inference in ways we do not reproduce. */
const UNSUPPORTED_IN_TRAINING = new Set([
  'BatchNormalization',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
]);

export interface ChainPlan {
  layers: Layer[];
  /** Index (in `layers`) of the last layer to run; its output, or pre-activation, is the logits. */
  logitsLayer: number;
  /** The last layer is a Dense with softmax activation: compute its pre-activation instead. */
  logitsFromPreActivation: boolean;
}

function className(layer: Layer): string {
  return layer.getClassName();
}

/** Checks the model is a plain chain of supported layers and finds where its logits are. */
export function planChain(model: LayersModel): ChainPlan {
  const layers = model.layers.filter((l) => className(l) !== 'InputLayer');
  if (layers.length === 0) throw new Error('model has no layers');
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error('only single-input, single-output models are supported');
  }
  for (let i = 1; i < layers.length; i++) {
    const inbound = layers[i].inboundNodes[0]?.inboundLayers ?? [];
    if (inbound.length !== 1 || inbound[0] !== layers[i - 1]) {
      throw new Error(
        `model is not a sequential chain: layer "${layers[i].name}" does not take its only input from "${layers[i - 1].name}"`,
      );
    }
  }
  for (const l of layers) {
    if (UNSUPPORTED_IN_TRAINING.has(className(l))) {
      throw new Error(
        `unsupported layer type for deterministic training: ${className(l)} ("${l.name}")`,
      );
    }
    if (className(l) === 'Dropout' && (l.getConfig() as { noiseShape?: unknown }).noiseShape) {
      throw new Error(`Dropout layer "${l.name}" with noiseShape is not supported`);
    }
  }
  let last = layers.length - 1;
  const lastLayer = layers[last];
  const cfg = lastLayer.getConfig() as { activation?: string };
  // A trailing Softmax / Activation('softmax') layer: its input is the logits.
  if (
    (className(lastLayer) === 'Activation' && cfg.activation === 'softmax') ||
    className(lastLayer) === 'Softmax'
  ) {
    last -= 1;
    if (last < 0) throw new Error('model consists of a softmax only');
    return { layers, logitsLayer: last, logitsFromPreActivation: false };
  }
  if (cfg.activation === 'softmax') {
    if (className(lastLayer) !== 'Dense') {
      throw new Error(`last layer "${lastLayer.name}" has a softmax activation but is not Dense`);
    }
    return { layers, logitsLayer: last, logitsFromPreActivation: true };
  }
  if (cfg.activation !== undefined && cfg.activation !== 'linear') {
    throw new Error(
      `last layer "${lastLayer.name}" has activation "${cfg.activation}"; expected logits (linear) or softmax`,
    );
  }
  return { layers, logitsLayer: last, logitsFromPreActivation: false };
}

/** Dropout draws for one training step; absent at inference. */
export interface DropoutContext {
  seed: number;
  step: number;
  /** Training-set indices of the batch rows. */
  exampleIds: Int32Array;
}

/** Logits of the model on x (rows = examples). With `dropout`, applies its masks. */
export function forwardLogits(
  plan: ChainPlan,
  x: tf.Tensor,
  dropout?: DropoutContext,
): tf.Tensor2D {
  let h: tf.Tensor = x;
  for (let i = 0; i <= plan.logitsLayer; i++) {
    const layer = plan.layers[i];
    const cls = className(layer);
    if (cls === 'Dropout') {
      const rate = (layer.getConfig() as { rate: number }).rate;
      if (dropout && rate > 0) {
        const rows = h.shape[0];
        const units = h.size / rows;
        const mask = dropoutMask(dropout.seed, dropout.step, i, dropout.exampleIds, units, rate);
        h = tf.mul(h, tf.tensor(mask, h.shape));
      }
      continue;
    }
    if (i === plan.logitsLayer && plan.logitsFromPreActivation) {
      if (h.rank !== 2) throw new Error(`softmax Dense "${layer.name}" needs a rank-2 input`);
      const [kernel, bias] = layer.weights.map((w) => w.read());
      h = tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D);
      if (bias) h = tf.add(h, bias);
      continue;
    }
    h = layer.apply(h) as tf.Tensor;
  }
  if (h.rank !== 2) {
    throw new Error(`model logits must be rank 2 (examples × classes), got shape [${h.shape}]`);
  }
  return h as tf.Tensor2D;
}
