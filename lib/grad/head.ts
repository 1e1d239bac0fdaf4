/**
 * The model's output head: what its loss is and which test functions it has. Found from the
 * output layer, so a model needs no declaration beyond its own topology:
 * - softmax (activation, Activation or Softmax layer): cross-entropy of its logits (the
 *   pre-activation) with an integer label;
 * - linear with several units: the same, the output taken as logits;
 * - sigmoid with one unit: binary cross-entropy of the logit z with a 0/1 label,
 *   softplus(z) − y·z (stable for large |z|);
 * - linear with one unit: regression, squared error (ŷ − y)² with a real-valued target (Keras
 *   'mse' on one output, so the gradient is that of the loss the model was trained with).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TestFunction } from './types';

export type HeadKind = 'softmax' | 'logits' | 'sigmoid' | 'regression';

export interface Head {
  kind: HeadKind;
  /** Output units. */
  units: number;
  /** Label values a classification head accepts: [0, classes); 0 for regression. */
  classes: number;
}

/** The head of an output layer with the given activation and number of units. */
export function headOf(layerName: string, activation: string, units: number): Head {
  if (activation === 'softmax') return { kind: 'softmax', units, classes: units };
  if (activation === 'sigmoid') {
    if (units !== 1) {
      throw new Error(
        `output layer '${layerName}' has a sigmoid over ${units} units: only a single sigmoid unit (binary cross-entropy) is supported`,
      );
    }
    return { kind: 'sigmoid', units, classes: 2 };
  }
  if (activation !== 'linear') {
    throw new Error(
      `output layer '${layerName}' has activation '${activation}': expected softmax, linear logits, a single sigmoid unit or a single linear unit (regression)`,
    );
  }
  return units === 1
    ? { kind: 'regression', units, classes: 0 }
    : { kind: 'logits', units, classes: units };
}

/** Checks labels (integers in [0, classes)) or regression targets (finite numbers). */
export function checkTargets(head: Head, targets: ArrayLike<number>, rows: number): void {
  if (targets.length !== rows) throw new Error(`${targets.length} labels for ${rows} examples`);
  for (let i = 0; i < targets.length; i++) {
    const y = targets[i];
    if (head.kind === 'regression') {
      if (!Number.isFinite(y)) throw new Error(`target ${y} of example ${i} is not finite`);
    } else if (!Number.isInteger(y) || y < 0 || y >= head.classes) {
      throw new Error(`label ${y} of example ${i} is out of range [0, ${head.classes})`);
    }
  }
}

/** The targets as a tensor: int32 labels, or float32 regression targets. */
export function targetTensor(head: Head, targets: ArrayLike<number>): tf.Tensor1D {
  return head.kind === 'regression'
    ? tf.tensor1d(Float32Array.from(targets), 'float32')
    : tf.tensor1d(Int32Array.from(targets), 'int32');
}

function classIndex(fn: { classIndex?: number }, classes: number): number | undefined {
  const c = fn.classIndex;
  if (c !== undefined && (!Number.isInteger(c) || c < 0 || c >= classes)) {
    throw new Error(`test function class ${c} is out of range [0, ${classes})`);
  }
  return c;
}

/**
 * Per-example test function from the head's pre-activation `z` (rows × units: logits, or the
 * regression output). `targets` may be null only for a prediction-type test function.
 */
export function perExampleValue(
  head: Head,
  z: tf.Tensor,
  targets: tf.Tensor1D | null,
  fn: TestFunction,
): tf.Tensor1D {
  const rows = z.shape[0];
  if (head.kind === 'regression') {
    const yhat = tf.reshape(z, [rows]);
    if (fn.kind === 'prediction') return yhat as tf.Tensor1D;
    if (fn.kind !== 'loss') {
      throw new Error(
        `test function '${fn.kind}' needs a classification head; a regression output has 'loss' or 'prediction'`,
      );
    }
    if (!targets) throw new Error("test function 'loss' needs targets");
    return tf.square(tf.sub(yhat, targets)) as tf.Tensor1D;
  }
  if (fn.kind === 'prediction') {
    throw new Error(
      `test function 'prediction' is for a regression output; a classification head has 'loss', 'logit' or 'probability'`,
    );
  }
  if (head.kind === 'sigmoid') {
    const logit = tf.reshape(z, [rows]);
    if (fn.kind === 'loss') {
      if (!targets) throw new Error("test function 'loss' needs labels");
      return tf.sub(tf.softplus(logit), tf.mul(logit, tf.cast(targets, 'float32'))) as tf.Tensor1D;
    }
    // Class c's log-odds: z for class 1, −z for class 0; its probability is the sigmoid of that.
    const c = classIndex(fn, 2);
    const cls =
      c !== undefined
        ? tf.fill([rows], c, 'float32')
        : targets
          ? tf.cast(targets, 'float32')
          : tf.cast(tf.greater(logit, 0), 'float32');
    const signed = tf.mul(logit, tf.sub(tf.mul(cls, 2), 1));
    return (fn.kind === 'logit' ? signed : tf.sigmoid(signed)) as tf.Tensor1D;
  }
  const k = z.shape[1] as number;
  if (fn.kind === 'loss') {
    if (!targets) throw new Error("test function 'loss' needs labels");
    return tf.neg(tf.sum(tf.mul(tf.oneHot(targets, k), tf.logSoftmax(z)), 1)) as tf.Tensor1D;
  }
  const c = classIndex(fn, k);
  const cls = c !== undefined ? tf.fill([rows], c, 'int32') : (targets ?? tf.argMax(z, 1));
  const out = fn.kind === 'logit' ? z : tf.softmax(z);
  return tf.sum(tf.mul(tf.oneHot(cls as tf.Tensor1D, k), out), 1) as tf.Tensor1D;
}

/**
 * Cross-entropy of a softmax over logits with integer labels, and its gradient w.r.t. the logits
 * (softmax − one-hot), in float64 from the logits (rows × k): what the written-out backward pass
 * uses for a softmax or logits head's loss, in place of ~30 small kernels of autodiff through
 * logSoftmax (each a dispatch on a native backend). The values are stored rounded to float32.
 */
export function softmaxCrossEntropy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): { values: Float32Array; grad: Float32Array } {
  const rows = labels.length;
  const values = new Float32Array(rows);
  const grad = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const o = i * k;
    let m = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) m = Math.max(m, logits[o + c]);
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(logits[o + c] - m);
    const lse = m + Math.log(s);
    const y = labels[i];
    values[i] = lse - logits[o + y];
    for (let c = 0; c < k; c++) grad[o + c] = Math.exp(logits[o + c] - lse) - (c === y ? 1 : 0);
  }
  return { values, grad };
}
