import * as tf from '@tensorflow/tfjs-core';
import { patchBlock } from './conv2d';
import { applyActivation, type Layer, type LayerHandler, weights } from './handler';
import { dilatedProblem, identityFilter } from './im2col';

interface Conv1DConfig {
  kernelSize: number | number[];
  strides: number | number[];
  padding: 'valid' | 'same' | 'causal';
  /** Absent from a Conv1D's config: always channelsLast. */
  dataFormat?: string;
  dilationRate: number | number[];
  useBias: boolean;
}

const first = (v: number | number[]) => (Array.isArray(v) ? v[0] : v);

function config(layer: Layer) {
  const c = layer.getConfig() as unknown as Conv1DConfig;
  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') {
    throw new Error(`layer '${layer.name}' (Conv1D): only channelsLast data format is supported`);
  }
  return {
    k: first(c.kernelSize),
    stride: first(c.strides),
    dilation: first(c.dilationRate),
    padding: c.padding,
    useBias: c.useBias,
  };
}

/**
 * The input as a one-row image [batch, 1, length, in] (causal padding: (k − 1)·dilation zeros
 * on the left, then 'valid', as tfjs-layers does) so Conv2D's im2col serves.
 */
function asImage(layer: Layer, x: tf.Tensor) {
  const c = config(layer);
  let x3 = x as tf.Tensor3D;
  if (c.padding === 'causal')
    x3 = tf.pad(x3, [
      [0, 0],
      [(c.k - 1) * c.dilation, 0],
      [0, 0],
    ]);
  const pad: 'valid' | 'same' = c.padding === 'same' ? 'same' : 'valid';
  return { c, x4: tf.expandDims(x3, 1) as tf.Tensor4D, pad };
}

/** Conv1D over positions: G_i = Σ_t patch_t ⊗ δ_t, computed as a Conv2D over a one-row image. */
export const conv1dHandler: LayerHandler = {
  unsupported(layer) {
    if ((layer.getConfig() as { padding: string }).padding === 'causal') {
      return "has causal padding, which tfjs-layers' Conv1D does not implement";
    }
    return dilatedProblem(layer);
  },
  probeShape(layer, inputShape) {
    // Computed here: tfjs-layers sizes a causal Conv1D's output as if it were 'valid'.
    const c = config(layer);
    const [rows, length] = inputShape;
    const span = (c.k - 1) * c.dilation;
    const out =
      c.padding === 'same'
        ? Math.ceil(length / c.stride)
        : Math.floor((length - 1 - (c.padding === 'causal' ? 0 : span)) / c.stride) + 1;
    const filters = (layer.getConfig() as { filters: number }).filters;
    return [rows, out, filters];
  },
  forward(layer, x, probe) {
    const { c, x4, pad } = asImage(layer, x);
    const [kernel, bias] = weights(layer);
    const [k, cin, filters] = kernel.shape;
    const k4 = tf.reshape(kernel, [1, k, cin, filters]) as tf.Tensor4D;
    const strides: [number, number] = [1, c.stride];
    const dilations: [number, number] = [1, c.dilation];
    const z4 = tf.conv2d(x4, k4, strides, pad, 'NHWC', dilations);
    let z: tf.Tensor = tf.squeeze(z4, [1]);
    if (c.useBias && bias) z = tf.add(z, bias);
    if (probe) z = tf.add(z, probe);
    const saved: tf.Tensor[] = [];
    if (probe) {
      const eye = identityFilter(1, k, cin);
      saved.push(tf.squeeze(tf.conv2d(x4, eye, strides, pad, 'NHWC', dilations), [1]));
    }
    return { z, y: applyActivation(layer, z), saved };
  },
  blocks(layer, saved, delta) {
    return [patchBlock(layer, saved[0], delta, config(layer).useBias)];
  },
};
