import * as tf from '@tensorflow/tfjs-core';
import type { FactorBlock } from '../types';
import { patchBlock } from './conv2d';
import { depthwise, depthwiseConfig, depthwiseGradients, depthwisePatches } from './depthwiseCore';
import {
  applyActivation,
  exactGradientBlock,
  type Layer,
  type LayerHandler,
  outputProbeShape,
  weights,
} from './handler';
import { dilatedProblem } from './im2col';

/** The layer's weights by role (tfjs-layers order: depthwise, pointwise, bias). */
function parts(layer: Layer) {
  const ws = layer.weights;
  const find = (suffix: string) => ws.find((w) => w.originalName.endsWith(`/${suffix}`));
  const dw = find('depthwise_kernel');
  const pw = find('pointwise_kernel');
  if (!dw || !pw) throw new Error(`layer '${layer.name}' has no depthwise/pointwise kernels`);
  return { dw, pw, bias: find('bias') };
}

/**
 * SeparableConv2D = a depthwise convolution h = D(x), then a 1×1 pointwise one z = h P + b. Two
 * blocks: `name/depthwise`, exact per example from the patches of x and δ_h = δ Pᵀ
 * (depthwiseCore), and `name/pointwise` (P and b), factored as Σ_t h_t ⊗ δ_t.
 */
export const separableConv2dHandler: LayerHandler = {
  unsupported: dilatedProblem,
  probeShape: outputProbeShape,
  forward(layer, x, probe) {
    const c = depthwiseConfig(layer);
    const [dk, pk, bias] = weights(layer);
    const h = depthwise(x, dk, c);
    let z: tf.Tensor = tf.conv2d(h, pk as tf.Tensor4D, 1, 'valid');
    if (c.useBias && bias) z = tf.add(z, bias);
    if (probe) z = tf.add(z, probe);
    return { z, y: applyActivation(layer, z), saved: probe ? [depthwisePatches(x, c), h] : [] };
  },
  blocks(layer, saved, delta): FactorBlock[] {
    const c = depthwiseConfig(layer);
    const { dw, pw, bias } = parts(layer);
    const [patches, h] = saved;
    const rows = patches.shape[0];
    const hc = h.shape[3] as number;
    const filters = delta.shape[3] as number;
    const dh = tf.tidy(() =>
      tf.matMul(
        tf.reshape(delta, [-1, filters]),
        tf.reshape(pw.read(), [hc, filters]) as tf.Tensor2D,
        false,
        true,
      ),
    );
    const taps = c.kernel[0] * c.kernel[1];
    const g = depthwiseGradients(patches, dh, taps, dw.shape[3] as number, false);
    dh.dispose();
    const depthBlock = exactGradientBlock(`${layer.name}/depthwise`, layer, rows, g, [
      { name: dw.name, shape: dw.shape as number[] },
    ]);
    const point = patchBlock(layer, h, delta, c.useBias);
    point.name = `${layer.name}/pointwise`;
    point.params = [{ name: pw.name, shape: pw.shape as number[] }];
    if (c.useBias && bias) point.params.push({ name: bias.name, shape: bias.shape as number[] });
    return [depthBlock, point];
  },
};
