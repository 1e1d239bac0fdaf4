import * as tf from '@tensorflow/tfjs-core';

/** Per-example softmax cross-entropy from logits with integer labels. */
export function crossEntropyPerExample(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const numClasses = logits.shape[1];
  const logp = tf.logSoftmax(logits);
  const onehot = tf.oneHot(labels, numClasses);
  return tf.neg(tf.sum(tf.mul(onehot, logp), 1)) as tf.Tensor1D;
}

/** Checks labels are integers in [0, numClasses). */
export function checkLabels(labels: ArrayLike<number>, numClasses: number, what = 'labels'): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new Error(`${what}[${i}] = ${y} is out of range for ${numClasses} classes`);
    }
  }
}
