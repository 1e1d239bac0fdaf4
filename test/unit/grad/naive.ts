/**
 * Independent reference for the gradient engine tests: per-example gradients by ordinary
 * autodiff (tf.variableGrads on a batch of one, through the model's own forward pass), flattened
 * in each block's parameter order, as float64.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { FactorBlock } from '../../../lib/grad/types';

export type RefFn =
  | { kind: 'loss' }
  | { kind: 'logit' | 'probability'; classIndex: number }
  | { kind: 'prediction' };

/**
 * f(z) for a batch of one, from the model's output as Keras defines its losses (softmax outputs
 * are probabilities; a single sigmoid unit is P(y = 1) with binary cross-entropy; a single linear
 * unit is a regression with squared error; several linear units are logits).
 */
function testValue(model: tfl.LayersModel, x: tf.Tensor, y: number, fn: RefFn): tf.Tensor {
  const out = model.apply(x, { training: false }) as tf.Tensor;
  const last = model.outputs[0].sourceLayer;
  const act = (last.getConfig() as { activation?: string }).activation;
  const c = out.shape[1] as number;
  if (act === 'sigmoid') {
    const p = tf.sum(out);
    if (fn.kind === 'loss') {
      return tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(1 - y, tf.log(tf.sub(1, p)))));
    }
    if (fn.kind === 'probability') return fn.classIndex === 1 ? p : tf.sub(1, p);
    if (fn.kind === 'logit') {
      const logOdds = tf.log(tf.div(p, tf.sub(1, p)));
      return fn.classIndex === 1 ? logOdds : tf.neg(logOdds);
    }
    throw new Error('no prediction for a sigmoid head');
  }
  if (c === 1 && act !== 'softmax') {
    const yhat = tf.sum(out);
    if (fn.kind === 'loss') return tf.square(tf.sub(yhat, y));
    if (fn.kind === 'prediction') return yhat;
    throw new Error(`no ${fn.kind} for a regression head`);
  }
  const softmaxOut = act === 'softmax';
  const probs = softmaxOut ? out : tf.softmax(out);
  if (fn.kind === 'loss')
    return tf.neg(tf.log(tf.sum(tf.mul(probs, tf.oneHot([y], c))))) as tf.Scalar;
  if (fn.kind === 'probability') return tf.sum(tf.mul(probs, tf.oneHot([fn.classIndex], c)));
  if (fn.kind === 'prediction') throw new Error('no prediction for a classification head');
  if (softmaxOut) throw new Error('reference logit needs a linear output');
  return tf.sum(tf.mul(out, tf.oneHot([fn.classIndex], c)));
}

/** Per-example naive gradients: rows × (Σ block sizes) float64, blocks in the given order. */
export function naiveGradients(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: ArrayLike<number> | null,
  blocks: Pick<FactorBlock, 'params'>[],
  fn: RefFn = { kind: 'loss' },
): { grads: Float64Array[]; values: number[] } {
  const vars = new Map<string, tf.Variable>();
  for (const l of model.layers) {
    for (const w of l.weights) vars.set(w.name, (w as unknown as { val: tf.Variable }).val);
  }
  const params = blocks.flatMap((b) => b.params.map((p) => p.name));
  const varList = params.map((p) => {
    const v = vars.get(p);
    if (!v) throw new Error(`no variable ${p}`);
    return v;
  });
  const grads: Float64Array[] = [];
  const values: number[] = [];
  for (let i = 0; i < xs.shape[0]; i++) {
    const { value, grads: g } = tf.tidy(() => {
      const x = tf.slice(xs, i, 1);
      // Frozen variables (LoRA base weights) are untrainable: ask for them explicitly anyway.
      const r = tf.variableGrads(
        () => testValue(model, x, ys ? ys[i] : 0, fn) as tf.Scalar,
        varList.filter((v) => v.trainable),
      );
      return { value: tf.keep(r.value), grads: r.grads };
    });
    const flat: number[] = [];
    for (const v of varList) flat.push(...g[v.name].dataSync());
    values.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(g)]);
    grads.push(Float64Array.from(flat));
  }
  return { grads, values };
}

/** Largest |x − y| and largest |y| over two lists of vectors. */
export function maxAbsDiff(x: ArrayLike<number>[], y: ArrayLike<number>[]) {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i].length !== y[i].length) throw new Error(`length ${x[i].length} vs ${y[i].length}`);
    for (let j = 0; j < x[i].length; j++) {
      err = Math.max(err, Math.abs(x[i][j] - y[i][j]));
      scale = Math.max(scale, Math.abs(y[i][j]));
    }
  }
  return { err, scale };
}

/** Rows of a row-major matrix as subarrays. */
export function rowsOf(data: Float32Array, rows: number, dim: number): Float32Array[] {
  return Array.from({ length: rows }, (_, i) => data.subarray(i * dim, (i + 1) * dim));
}

/** Deterministic pseudo-random numbers for test data (mulberry32). */
export function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const r = rng(seed);
  const n = shape.reduce((p, s) => p * s, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale),
    shape,
  );
}

export function randomLabels(n: number, classes: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * classes));
}

/** Re-initialises every weight of a model (including zero-initialised ones) deterministically. */
export function randomizeWeights(model: tfl.LayersModel, seed: number, scale = 0.5) {
  model.layers.forEach((l, li) => {
    if (l.weights.length === 0) return;
    l.setWeights(
      l.weights.map((w, k) => randomTensor(w.shape as number[], seed + 97 * li + k, scale)),
    );
  });
}
