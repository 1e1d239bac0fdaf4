/**
 * Exact Hessian-vector products of the mean training loss of a tfjs-layers model (a stack of
 * Dense layers, optionally with Flatten), by Pearlmutter's R-operator: one forward pass carrying
 * the directional derivative of every activation, then one backward pass carrying the directional
 * derivative of every gradient. No finite differences, so products are exact to float32.
 *
 * Why not double backprop: tfjs saves clones of tensors for backward that are not recorded on the
 * tape, so tf.grads of a gradient silently drops the second-order terms (measured: wrong H·v).
 *
 * Loss: mean softmax cross-entropy over the last Dense layer's pre-activation (the logits, also
 * when the layer has a softmax activation), plus (l2/2)·‖θ_selected‖² when l2 is given.
 * Parameter layout: selected Dense layers in model order, each block = kernel [in, out] row-major
 * followed by bias [out]; one LayerSlice per layer named after the layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LayerSlice } from '../../features';
import type { LinearOperator } from './linearOperator';

export interface HvpOptions {
  /** Names of the Dense layers whose parameters are attributed over; default all Dense layers. */
  layers?: string[];
  /** Coefficient of an L2 term (l2/2)‖θ‖² in the objective (adds l2·v). */
  l2?: number;
  /** Training examples per forward/backward pass. */
  batchSize?: number;
}

export interface MeanLossHvp {
  dim: number;
  layers: LayerSlice[];
  hvp: LinearOperator;
}

type Activation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';

interface DenseInfo {
  name: string;
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D | null;
  activation: Activation;
  selected: boolean;
  offset: number;
  inputs: number;
  units: number;
}

type Step = { kind: 'flatten' } | { kind: 'dense'; dense: DenseInfo };

function activationOf(layer: tfl.layers.Layer): Activation {
  const cfg = layer.getConfig() as { activation?: string };
  const a = cfg.activation ?? 'linear';
  if (a === 'linear' || a === 'relu' || a === 'tanh' || a === 'sigmoid' || a === 'softmax') {
    return a;
  }
  throw new Error(`hvp: unsupported activation '${a}' in layer ${layer.name}`);
}

function describe(
  model: tfl.LayersModel,
  options: HvpOptions,
): { steps: Step[]; slices: LayerSlice[]; dim: number } {
  const steps: Step[] = [];
  const slices: LayerSlice[] = [];
  const denseNames = model.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.name);
  const wanted = options.layers ?? denseNames;
  for (const n of wanted) {
    if (!denseNames.includes(n)) throw new Error(`hvp: no Dense layer named '${n}'`);
  }
  let offset = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Flatten' || cls === 'InputLayer') {
      if (cls === 'Flatten') steps.push({ kind: 'flatten' });
      continue;
    }
    if (cls !== 'Dense') throw new Error(`hvp: unsupported layer type ${cls} (${layer.name})`);
    const weights = layer.getWeights();
    const kernel = weights[0] as tf.Tensor2D;
    const bias = (weights[1] as tf.Tensor1D | undefined) ?? null;
    const [inputs, units] = kernel.shape;
    const selected = wanted.includes(layer.name);
    const dense: DenseInfo = {
      name: layer.name,
      kernel,
      bias,
      activation: activationOf(layer),
      selected,
      offset,
      inputs,
      units,
    };
    if (selected) {
      const size = inputs * units + (bias ? units : 0);
      slices.push({ name: layer.name, offset, size });
      offset += size;
    }
    steps.push({ kind: 'dense', dense });
  }
  const denses = steps.filter((s) => s.kind === 'dense');
  if (denses.length === 0) throw new Error('hvp: model has no Dense layer');
  if (steps[steps.length - 1].kind !== 'dense')
    throw new Error('hvp: the last layer must be Dense');
  denses.slice(0, -1).forEach((s) => {
    if (s.kind === 'dense' && s.dense.activation === 'softmax') {
      throw new Error(`hvp: softmax is only supported on the last layer (${s.dense.name})`);
    }
  });
  return { steps, slices, dim: offset };
}

/** σ'(z) and σ''(z) for an activation, given z and a = σ(z). */
function derivatives(act: Activation, z: tf.Tensor, a: tf.Tensor): [tf.Tensor, tf.Tensor] {
  switch (act) {
    case 'linear':
    case 'softmax':
      return [tf.onesLike(z), tf.zerosLike(z)];
    case 'relu':
      return [tf.cast(tf.greater(z, 0), 'float32'), tf.zerosLike(z)];
    case 'tanh': {
      const d1 = tf.sub(1, tf.square(a));
      return [d1, tf.mul(-2, tf.mul(a, d1))];
    }
    case 'sigmoid': {
      const d1 = tf.mul(a, tf.sub(1, a));
      return [d1, tf.mul(d1, tf.sub(1, tf.mul(2, a)))];
    }
  }
}

function activate(act: Activation, z: tf.Tensor): tf.Tensor {
  switch (act) {
    case 'linear':
    case 'softmax':
      return z;
    case 'relu':
      return tf.relu(z);
    case 'tanh':
      return tf.tanh(z);
    case 'sigmoid':
      return tf.sigmoid(z);
  }
}

/**
 * Builds H·v for the mean loss over (x, labels). `x` has the model's input shape with the batch
 * first; labels are integer classes.
 */
export function meanLossHvp(
  model: tfl.LayersModel,
  x: tf.Tensor,
  labels: ArrayLike<number>,
  options: HvpOptions = {},
): MeanLossHvp {
  const { steps, slices, dim } = describe(model, options);
  const n = x.shape[0];
  if (n === 0) throw new Error('hvp: empty training set');
  if (labels.length !== n) throw new Error(`hvp: ${labels.length} labels for ${n} examples`);
  const last = steps[steps.length - 1] as { kind: 'dense'; dense: DenseInfo };
  const classes = last.dense.units;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new Error(`hvp: label ${y} at row ${i} outside [0, ${classes})`);
    }
  }
  const l2 = options.l2 ?? 0;
  const batchSize = options.batchSize ?? 1024;
  const labelArr = Int32Array.from(labels);

  const hvp: LinearOperator = (v) => {
    if (v.length !== dim) throw new Error(`hvp: vector has length ${v.length}, expected ${dim}`);
    const total = new Float64Array(dim);
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const parts = tf.tidy(() =>
        batchHvp(
          steps,
          v,
          tf.slice(x, start, size),
          labelArr.subarray(start, start + size),
          classes,
        ),
      );
      for (const { offset, data } of parts) {
        for (let k = 0; k < data.length; k++) total[offset + k] += data[k];
      }
    }
    for (let k = 0; k < dim; k++) total[k] = total[k] / n + l2 * v[k];
    return total;
  };
  return { dim, layers: slices, hvp };
}

/** Sum over a batch of per-example H_i·v, as (offset, values) blocks per selected layer. */
function batchHvp(
  steps: Step[],
  v: Float64Array,
  xb: tf.Tensor,
  yb: Int32Array,
  classes: number,
): { offset: number; data: Float32Array }[] {
  const b = xb.shape[0];
  const vOf = (d: DenseInfo): [tf.Tensor2D, tf.Tensor1D | null] => {
    if (!d.selected) {
      return [
        tf.zeros([d.inputs, d.units]) as tf.Tensor2D,
        d.bias ? (tf.zeros([d.units]) as tf.Tensor1D) : null,
      ];
    }
    const kSize = d.inputs * d.units;
    const vk = tf.tensor2d(Float32Array.from(v.subarray(d.offset, d.offset + kSize)), [
      d.inputs,
      d.units,
    ]);
    const vb = d.bias
      ? tf.tensor1d(Float32Array.from(v.subarray(d.offset + kSize, d.offset + kSize + d.units)))
      : null;
    return [vk, vb];
  };
  // Forward with R-forward.
  let a: tf.Tensor = xb;
  let ra: tf.Tensor = tf.zerosLike(xb);
  const rec: {
    d: DenseInfo;
    aIn: tf.Tensor2D;
    raIn: tf.Tensor2D;
    z: tf.Tensor2D;
    rz: tf.Tensor2D;
    d1: tf.Tensor;
    d2: tf.Tensor;
    vk: tf.Tensor2D;
  }[] = [];
  for (const s of steps) {
    if (s.kind === 'flatten') {
      a = tf.reshape(a, [b, -1]);
      ra = tf.reshape(ra, [b, -1]);
      continue;
    }
    const d = s.dense;
    const aIn = a as tf.Tensor2D;
    const raIn = ra as tf.Tensor2D;
    const [vk, vb] = vOf(d);
    let z = tf.matMul(aIn, d.kernel);
    if (d.bias) z = tf.add(z, d.bias);
    let rz = tf.add(tf.matMul(raIn, d.kernel), tf.matMul(aIn, vk));
    if (vb) rz = tf.add(rz, vb);
    const aOut = activate(d.activation, z);
    const [d1, d2] = derivatives(d.activation, z, aOut);
    rec.push({ d, aIn, raIn, z: z as tf.Tensor2D, rz: rz as tf.Tensor2D, d1, d2, vk });
    a = aOut;
    ra = tf.mul(d1, rz);
  }
  // Loss layer: dz = p − y (per example; the 1/n is applied by the caller), R dz = (diag p − p pᵀ) Rz.
  const top = rec[rec.length - 1];
  const p = tf.softmax(top.z);
  const onehot = tf.oneHot(tf.tensor1d(yb, 'int32'), classes);
  let dz: tf.Tensor2D = tf.sub(p, onehot) as tf.Tensor2D;
  const prz = tf.mul(p, top.rz);
  let rdz: tf.Tensor2D = tf.sub(prz, tf.mul(p, tf.sum(prz, 1, true))) as tf.Tensor2D;
  const parts: { offset: number; data: Float32Array }[] = [];
  for (let l = rec.length - 1; l >= 0; l--) {
    const { d, aIn, raIn, vk } = rec[l];
    if (d.selected) {
      const rdw = tf.add(tf.matMul(raIn, dz, true, false), tf.matMul(aIn, rdz, true, false));
      parts.push({ offset: d.offset, data: rdw.dataSync() as Float32Array });
      if (d.bias) {
        parts.push({
          offset: d.offset + d.inputs * d.units,
          data: tf.sum(rdz, 0).dataSync() as Float32Array,
        });
      }
    }
    if (l > 0) {
      const below = rec[l - 1];
      const da = tf.matMul(dz, d.kernel, false, true);
      const rda = tf.add(tf.matMul(rdz, d.kernel, false, true), tf.matMul(dz, vk, false, true));
      dz = tf.mul(da, below.d1) as tf.Tensor2D;
      rdz = tf.add(tf.mul(rda, below.d1), tf.mul(tf.mul(da, below.d2), below.rz)) as tf.Tensor2D;
    }
  }
  return parts;
}
