import * as tf from '@tensorflow/tfjs-core';
import type { FactorBlock } from '../types';
import {
  appendOnes,
  applyActivation,
  type FactorScratch,
  type ForwardResult,
  kernelBiasParams,
  type Layer,
  positionsOf,
  values,
  weights,
} from './handler';

/** Shared by Dense (2-D input) and Dense over a sequence (N-D input, summed over positions). */
export function denseProbeShape(layer: Layer, inputShape: number[]): number[] {
  const units = (layer.getConfig() as { units: number }).units;
  return [...inputShape.slice(0, -1), units];
}

export function denseForward(layer: Layer, x: tf.Tensor, probe: tf.Tensor | null): ForwardResult {
  const [kernel, bias] = weights(layer);
  const useBias = (layer.getConfig() as { useBias: boolean }).useBias;
  const inDim = x.shape[x.shape.length - 1];
  const outShape = [...x.shape.slice(0, -1), kernel.shape[1] as number];
  // 2-D products take wasm's fast path; a batched (3-D) product would not. A 2-D input needs no
  // reshape: each is a kernel call forward and back (tens of µs each on tfjs-node).
  const flat = x.rank === 2;
  let z = tf.matMul(flat ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]), kernel as tf.Tensor2D);
  if (useBias && bias) z = tf.add(z, bias);
  if (!flat) z = tf.reshape(z, outShape);
  if (probe) z = tf.add(z, probe);
  return { z, y: applyActivation(layer, z), saved: [x] };
}

export function denseBlocks(
  layer: Layer,
  saved: tf.Tensor[],
  delta: tf.Tensor,
  scratch?: FactorScratch,
): FactorBlock[] {
  const x = saved[0];
  const useBias = (layer.getConfig() as { useBias: boolean }).useBias;
  const rows = x.shape[0];
  const positions = positionsOf(x.shape);
  const inDim = x.shape[x.shape.length - 1];
  const outDim = delta.shape[delta.shape.length - 1];
  const av = values(x);
  return [
    {
      name: layer.name,
      layer: layer.name,
      layerType: layer.getClassName(),
      rows,
      positions,
      inDim: useBias ? inDim + 1 : inDim,
      outDim,
      a: useBias
        ? appendOnes(
            av,
            rows * positions,
            inDim,
            scratch?.(`${layer.name}/a`, rows * positions * (inDim + 1)),
          )
        : av,
      delta: values(delta),
      params: kernelBiasParams(layer, useBias),
    },
  ];
}

/** dL/dx = δ·Wᵀ, reshaped back for a sequence input (BatchMatMul's own gradient). */
export function denseInputGrad(layer: Layer, saved: tf.Tensor[], delta: tf.Tensor): tf.Tensor {
  const [kernel] = weights(layer);
  const x = saved[0];
  if (x.rank === 2) return tf.matMul(delta as tf.Tensor2D, kernel as tf.Tensor2D, false, true);
  const out = delta.shape[delta.shape.length - 1];
  const d = tf.matMul(tf.reshape(delta, [-1, out]), kernel as tf.Tensor2D, false, true);
  return tf.reshape(d, x.shape);
}
