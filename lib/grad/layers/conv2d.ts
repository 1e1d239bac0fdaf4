import * as tf from '@tensorflow/tfjs-core';
import type { FactorBlock } from '../types';
import {
  appendOnes,
  applyActivation,
  kernelBiasParams,
  type Layer,
  type LayerHandler,
  outputProbeShape,
  values,
  weights,
} from './handler';
import { dilatedProblem, identityFilter } from './im2col';

interface ConvConfig {
  filters: number;
  kernelSize: number[];
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: string;
  dilationRate: number | number[];
  useBias: boolean;
}

function config(layer: Layer) {
  const c = layer.getConfig() as unknown as ConvConfig;
  if (c.dataFormat !== 'channelsLast') {
    throw new Error(`layer '${layer.name}' (Conv2D): only channelsLast data format is supported`);
  }
  if (c.padding === 'causal') throw new Error(`layer '${layer.name}' (Conv2D): causal padding`);
  const d = Array.isArray(c.dilationRate) ? c.dilationRate : [c.dilationRate, c.dilationRate];
  return { ...c, dilations: [d[0], d[1]] as [number, number] };
}

/** Conv2D over patches: G_i = Σ_positions patch_t ⊗ δ_t (im2col patches, a 1 for the bias). */
export const conv2dHandler: LayerHandler = {
  unsupported: dilatedProblem,
  probeShape: outputProbeShape,
  forward(layer, x, probe) {
    const c = config(layer);
    const [kernel, bias] = weights(layer);
    const x4 = x as tf.Tensor4D;
    const pad = c.padding as 'valid' | 'same';
    const strides = c.strides as [number, number];
    let z: tf.Tensor = tf.conv2d(x4, kernel as tf.Tensor4D, strides, pad, 'NHWC', c.dilations);
    if (c.useBias && bias) z = tf.add(z, bias);
    if (probe) z = tf.add(z, probe);
    const saved: tf.Tensor[] = [];
    if (probe) {
      const [kh, kw, cin] = kernel.shape;
      const eye = identityFilter(kh, kw, cin);
      saved.push(tf.conv2d(x4, eye, strides, pad, 'NHWC', c.dilations));
    }
    return { z, y: applyActivation(layer, z), saved };
  },
  blocks(layer, saved, delta): FactorBlock[] {
    return [patchBlock(layer, saved[0], delta, config(layer).useBias)];
  },
};

/**
 * A convolution's block from its im2col patches (rows × positions × taps·in) and δ (rows ×
 * positions × filters): G_i = Σ_t patch_t ⊗ δ_t, with a 1 appended for the bias.
 */
export function patchBlock(
  layer: Layer,
  patches: tf.Tensor,
  delta: tf.Tensor,
  useBias: boolean,
): FactorBlock {
  const rows = patches.shape[0];
  const pdim = patches.shape[patches.rank - 1];
  const positions = patches.size / (rows * pdim);
  const av = values(patches);
  return {
    name: layer.name,
    layer: layer.name,
    layerType: layer.getClassName(),
    rows,
    positions,
    inDim: useBias ? pdim + 1 : pdim,
    outDim: delta.shape[delta.rank - 1] as number,
    a: useBias ? appendOnes(av, rows * positions, pdim) : av,
    delta: values(delta),
    params: kernelBiasParams(layer, useBias),
  };
}
