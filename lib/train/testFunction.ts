import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { forwardLogits, planChain } from './forward';
import { checkLabels, crossEntropyPerExample } from './loss';
import { numClassesOf } from './trainer';

/**
 * The test function f(z'; θ) on query examples: the loss by default, or the logit or probability
 * of a chosen class for queries without a label. Evaluated without dropout.
 */
export type TestFunction =
  | { kind: 'loss' }
  | { kind: 'logit'; classes: number | Int32Array }
  | { kind: 'probability'; classes: number | Int32Array };

export interface Queries {
  x: tf.Tensor;
  /** Required for the 'loss' test function. */
  labels?: Int32Array;
}

export function evaluateTestFunction(
  model: LayersModel,
  queries: Queries,
  fn: TestFunction = { kind: 'loss' },
): Float64Array {
  const plan = planChain(model);
  const q = queries.x.shape[0];
  const k = numClassesOf(model);
  let values: Float32Array;
  if (fn.kind === 'loss') {
    if (!queries.labels) throw new Error("the 'loss' test function needs query labels");
    if (queries.labels.length !== q) {
      throw new Error(`query labels has ${queries.labels.length} entries but x has ${q} examples`);
    }
    checkLabels(queries.labels, k, 'query labels');
    const labels = queries.labels;
    const t = tf.tidy(() =>
      crossEntropyPerExample(forwardLogits(plan, queries.x), tf.tensor1d(labels, 'int32')),
    );
    values = t.dataSync() as Float32Array;
    t.dispose();
  } else if (fn.kind === 'logit' || fn.kind === 'probability') {
    const classes =
      typeof fn.classes === 'number' ? new Int32Array(q).fill(fn.classes) : fn.classes;
    if (classes.length !== q) {
      throw new Error(`test function classes has ${classes.length} entries for ${q} queries`);
    }
    checkLabels(classes, k, 'test function classes');
    const t = tf.tidy(() => {
      const logits = forwardLogits(plan, queries.x);
      const out = fn.kind === 'probability' ? tf.softmax(logits) : logits;
      return tf.sum(tf.mul(out, tf.oneHot(tf.tensor1d(classes, 'int32'), k)), 1);
    });
    values = t.dataSync() as Float32Array;
    t.dispose();
  } else {
    throw new Error(`unknown test function kind "${(fn as { kind: string }).kind}"`);
  }
  return Float64Array.from(values);
}
