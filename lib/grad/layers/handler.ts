import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { FactorBlock } from '../types';

export type Layer = tfl.layers.Layer;

/** What a layer's forward pass produced: pre-activation z (probe added), output y, saved inputs. */
export interface ForwardResult {
  z: tf.Tensor;
  y: tf.Tensor;
  saved: tf.Tensor[];
}

/** Per-layer-type knowledge: forward with a probe on the pre-activation, then factor blocks. */
export interface LayerHandler {
  /** Shape of the pre-activation (and so of the probe) for an input of the given shape. */
  probeShape(layer: Layer, inputShape: number[]): number[];
  /** Forward pass; `probe` (zeros) is added to the pre-activation when the layer is selected. */
  forward(layer: Layer, x: tf.Tensor, probe: tf.Tensor | null): ForwardResult;
  /** Turns saved inputs and δ (gradient w.r.t. the probe) into factor blocks. */
  blocks(
    layer: Layer,
    saved: tf.Tensor[],
    delta: tf.Tensor,
    scratch?: FactorScratch,
  ): FactorBlock[];
  /**
   * The gradient w.r.t. the layer's input from δ (w.r.t. its pre-activation), as tfjs-core's own
   * gradient functions compute it: with it on every layer from the first selected one to the
   * output, the backward pass skips the tape (manualBackward.ts).
   */
  inputGrad?(layer: Layer, saved: tf.Tensor[], delta: tf.Tensor): tf.Tensor;
  /**
   * Why this layer's configuration cannot be selected or back-propagated through, if it cannot
   * (checked at plan time for selected layers and those downstream of one).
   */
  unsupported?(layer: Layer): string | null;
}

/** Applies a tfjs-layers layer's activation object (Dense and Conv2D keep it as `activation`). */
export function applyActivation(layer: Layer, z: tf.Tensor): tf.Tensor {
  const act = (layer as unknown as { activation?: { apply(t: tf.Tensor): tf.Tensor } }).activation;
  return act ? act.apply(z) : z;
}

/** Name of a layer's activation ('linear' when none). */
export function activationName(layer: Layer): string {
  const cfg = layer.getConfig() as { activation?: string };
  return typeof cfg.activation === 'string' ? cfg.activation : 'linear';
}

/**
 * Arrays a handler may write a batch's factors into instead of new ones, by a name it picks
 * (the layer's): the next batch writes them again, so only a caller that is done with each
 * batch's blocks before the next one is computed passes one (featurizeBatches), and one scratch
 * never serves two featurizes at once (featurizeShard keeps one per call, for its chunks in turn).
 * Each batch's new arrays were, in a worker, most of the ArrayBuffers that start V8's full
 * collections.
 */
export type FactorScratch = (name: string, length: number) => Float32Array;

/**
 * Copies rows×inDim values into rows×(inDim+1) with a trailing 1 (the bias's input), into
 * `into` (exactly that long) when given.
 */
export function appendOnes(
  a: Float32Array,
  rows: number,
  inDim: number,
  into?: Float32Array,
): Float32Array {
  const out = into ?? new Float32Array(rows * (inDim + 1));
  if (out.length !== rows * (inDim + 1)) {
    throw new Error(`appendOnes: ${out.length} values for ${rows} × ${inDim + 1}`);
  }
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * inDim, (r + 1) * inDim), r * (inDim + 1));
    out[r * (inDim + 1) + inDim] = 1;
  }
  return out;
}

/**
 * Host arrays that tensors were made from (hostTensor): tensors never change, so reading one
 * back may return its array. tfjs-node copies a tensor's values into TensorFlow at its first
 * operation and then reads them back as a new array (a first Dense layer's input: half of an MNIST
 * MLP's factors, once per batch).
 */
const hostArrays = new WeakMap<tf.Tensor, Float32Array>();

/** A float32 tensor of `data` whose values() is `data` itself (which must not change after). */
export function hostTensor(data: Float32Array, shape: number[]): tf.Tensor {
  const t = tf.tensor(data, shape, 'float32');
  hostArrays.set(t, data);
  return t;
}

/** Values of a tensor as a Float32Array (outside any tidy); a hostTensor's own array. */
export function values(t: tf.Tensor): Float32Array {
  const host = hostArrays.get(t);
  if (host) return host;
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

/** The layer's current weights by position (kernel, bias, ...), as the layer holds them. */
export function weights(layer: Layer): tf.Tensor[] {
  return layer.weights.map((w) => w.read());
}

/** Kernel-and-bias block parameter list. */
export function kernelBiasParams(layer: Layer, useBias: boolean): FactorBlock['params'] {
  const ws = layer.weights;
  const out = [{ name: ws[0].name, shape: ws[0].shape as number[] }];
  if (useBias && ws[1]) out.push({ name: ws[1].name, shape: ws[1].shape as number[] });
  return out;
}

export const positionsOf = (shape: number[]) => shape.slice(1, -1).reduce((p, s) => p * s, 1);

/**
 * A block holding each example's exact gradient (rows × size, in the params' flattening order),
 * for layers whose per-example gradient is no sum of outer products: one position, a = [1],
 * δ = the gradient, so every projector, norm and dot product reads it unchanged.
 */
export function exactGradientBlock(
  name: string,
  layer: Layer,
  rows: number,
  grads: Float32Array,
  params: FactorBlock['params'],
): FactorBlock {
  const size = params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  if (grads.length !== rows * size) {
    throw new Error(`layer '${layer.name}': ${grads.length} gradient values for ${rows} × ${size}`);
  }
  return {
    name,
    layer: layer.name,
    layerType: layer.getClassName(),
    rows,
    positions: 1,
    inDim: 1,
    outDim: size,
    a: new Float32Array(rows).fill(1),
    delta: grads,
    params,
  };
}

/** The probe of a layer whose pre-activation has its output's shape (convolutions). */
export function outputProbeShape(layer: Layer, inputShape: number[]): number[] {
  const out = layer.computeOutputShape(inputShape) as number[];
  return [inputShape[0], ...out.slice(1)];
}
