import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { inputTensor } from '../pipeline/featurizeDataset';
import { forwardLogits, planChain } from './forward';
import { crossEntropyPerExample } from './loss';

/** How well a model fits a labelled data set: mean cross-entropy and accuracy. */
export interface FitMetrics {
  loss: number;
  accuracy: number;
  rows: number;
}

/**
 * Mean softmax cross-entropy and accuracy of `model` over every row of `ds`, a batch of rows at
 * a time (memory stays one batch of logits), summed in float64.
 */
export function evaluateModel(model: tfl.LayersModel, ds: Dataset, batchSize = 512): FitMetrics {
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < ds.rows; start += batchSize) {
    const end = Math.min(ds.rows, start + batchSize);
    const [logp, pred] = tf.tidy(() => {
      const logits = model.predict(inputTensor(model, ds, start, end)) as tf.Tensor2D;
      return [tf.logSoftmax(logits), tf.argMax(logits, 1)];
    });
    const lp = logp.dataSync();
    const k = logp.shape[1] as number;
    const argmax = pred.dataSync();
    tf.dispose([logp, pred]);
    for (let i = start; i < end; i++) {
      loss -= lp[(i - start) * k + ds.labels[i]];
      if (argmax[i - start] === ds.labels[i]) correct++;
    }
  }
  return { loss: loss / ds.rows, accuracy: correct / ds.rows, rows: ds.rows };
}

/**
 * Each row's softmax cross-entropy at the model's weights, a batch at a time (forwardLogits: a
 * model ending in softmax is read as its logits).
 */
export function exampleLosses(model: tfl.LayersModel, ds: Dataset, batchSize = 512): Float64Array {
  const plan = planChain(model);
  const out = new Float64Array(ds.rows);
  for (let start = 0; start < ds.rows; start += batchSize) {
    const end = Math.min(ds.rows, start + batchSize);
    const loss = tf.tidy(() =>
      crossEntropyPerExample(
        forwardLogits(plan, inputTensor(model, ds, start, end)),
        tf.tensor1d(ds.labels.subarray(start, end), 'int32'),
      ),
    );
    out.set(loss.dataSync(), start);
    loss.dispose();
  }
  return out;
}
