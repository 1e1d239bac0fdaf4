import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { inputTensor } from '../pipeline/featurizeDataset';

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
