import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './handler';
import { identityFilter } from './im2col';

/**
 * A depthwise kernel W[r, c, i, m] maps input channel i to output channel i·mult + m only, so
 * example n's gradient is no sum of outer products:
 *   ∂W[r, c, i, m] = Σ_t patch_t[(r, c), i] · δ_t[i·mult + m],   ∂b[i·mult + m] = Σ_t δ_t[i·mult + m].
 * It is formed exactly per example (the same work as the convolution itself) from the im2col
 * patches, in JS with float64 sums so every backend gives the same bits.
 */
export interface DepthwiseConfig {
  kernel: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
  dilations: [number, number];
  useBias: boolean;
}

const pair = (v: number | number[]): [number, number] =>
  Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];

export function depthwiseConfig(layer: Layer): DepthwiseConfig {
  const c = layer.getConfig() as {
    kernelSize: number | number[];
    strides: number | number[];
    padding: string;
    dataFormat: string;
    dilationRate: number | number[];
    useBias: boolean;
  };
  const type = layer.getClassName();
  if (c.dataFormat !== 'channelsLast') {
    throw new Error(`layer '${layer.name}' (${type}): only channelsLast data format is supported`);
  }
  if (c.padding !== 'valid' && c.padding !== 'same') {
    throw new Error(`layer '${layer.name}' (${type}): padding '${c.padding}' is not supported`);
  }
  return {
    kernel: pair(c.kernelSize),
    strides: pair(c.strides),
    padding: c.padding,
    dilations: pair(c.dilationRate),
    useBias: c.useBias,
  };
}

/** The depthwise convolution of x (no bias). */
export function depthwise(x: tf.Tensor, kernel: tf.Tensor, c: DepthwiseConfig): tf.Tensor4D {
  return tf.depthwiseConv2d(
    x as tf.Tensor4D,
    kernel as tf.Tensor4D,
    c.strides,
    c.padding,
    'NHWC',
    c.dilations,
  );
}

/** im2col patches of x for the depthwise kernel: rows × oh × ow × (kh·kw·in). */
export function depthwisePatches(x: tf.Tensor, c: DepthwiseConfig): tf.Tensor4D {
  const cin = x.shape[3] as number;
  const eye = identityFilter(c.kernel[0], c.kernel[1], cin);
  return tf.conv2d(x as tf.Tensor4D, eye, c.strides, c.padding, 'NHWC', c.dilations);
}

/**
 * Each example's exact gradient of the depthwise kernel (and bias, when `withBias`), rows ×
 * (kh·kw·in·mult [+ in·mult]) in the weights' own flattening order.
 */
export function depthwiseGradients(
  patches: tf.Tensor,
  delta: tf.Tensor,
  taps: number,
  mult: number,
  withBias: boolean,
): Float32Array {
  const rows = patches.shape[0];
  const pdim = patches.shape[patches.rank - 1];
  const cin = pdim / taps;
  const T = patches.size / (rows * pdim);
  const outC = cin * mult;
  const kSize = taps * cin * mult;
  const size = kSize + (withBias ? outC : 0);
  const P = patches.dataSync();
  const D = delta.dataSync();
  const out = new Float32Array(rows * size);
  const g = new Float64Array(size);
  for (let n = 0; n < rows; n++) {
    g.fill(0);
    for (let t = 0; t < T; t++) {
      const p0 = (n * T + t) * pdim;
      const d0 = (n * T + t) * outC;
      for (let k = 0; k < taps; k++) {
        for (let i = 0; i < cin; i++) {
          const p = P[p0 + k * cin + i];
          if (p === 0) continue;
          const g0 = (k * cin + i) * mult;
          for (let m = 0; m < mult; m++) g[g0 + m] += p * D[d0 + i * mult + m];
        }
      }
      if (withBias) for (let o = 0; o < outC; o++) g[kSize + o] += D[d0 + o];
    }
    out.set(g, n * size);
  }
  return out;
}
