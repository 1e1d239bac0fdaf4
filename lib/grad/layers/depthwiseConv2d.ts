import * as tf from '@tensorflow/tfjs-core';
import { depthwise, depthwiseConfig, depthwiseGradients, depthwisePatches } from './depthwiseCore';
import {
  applyActivation,
  exactGradientBlock,
  kernelBiasParams,
  type LayerHandler,
  outputProbeShape,
  weights,
} from './handler';
import { dilatedProblem } from './im2col';

/** DepthwiseConv2D: each example's exact kernel and bias gradient (depthwiseCore). */
export const depthwiseConv2dHandler: LayerHandler = {
  unsupported: dilatedProblem,
  probeShape: outputProbeShape,
  forward(layer, x, probe) {
    const c = depthwiseConfig(layer);
    const [kernel, bias] = weights(layer);
    let z: tf.Tensor = depthwise(x, kernel, c);
    if (c.useBias && bias) z = tf.add(z, bias);
    if (probe) z = tf.add(z, probe);
    return { z, y: applyActivation(layer, z), saved: probe ? [depthwisePatches(x, c)] : [] };
  },
  blocks(layer, saved, delta) {
    const c = depthwiseConfig(layer);
    const taps = c.kernel[0] * c.kernel[1];
    const mult = layer.weights[0].shape[3] as number;
    const g = depthwiseGradients(saved[0], delta, taps, mult, c.useBias);
    const params = kernelBiasParams(layer, c.useBias);
    return [exactGradientBlock(layer.name, layer, saved[0].shape[0], g, params)];
  },
};
