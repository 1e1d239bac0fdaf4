import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import type { ExampleFeatures } from '../features';
import { featurize } from '../grad/featurize';
import type { FeaturizeSpec } from '../grad/types';

/** Rows [start, end) of a data set as the model's input tensor. */
export function inputTensor(
  model: tfl.LayersModel,
  ds: Dataset,
  start: number,
  end: number,
): tf.Tensor {
  const n = end - start;
  const inShape = model.inputs[0].shape.slice(1).map((d) => d ?? 1);
  if (ds.tokens) {
    const L = ds.shape[0];
    return tf.tensor(ds.tokens.subarray(start * L, end * L), [n, ...inShape], 'int32');
  }
  if (!ds.x) throw new Error(`data set "${ds.name}" has neither features nor tokens`);
  const d = ds.x.length / ds.rows;
  return tf.tensor(ds.x.subarray(start * d, end * d), [n, ...inShape], 'float32');
}

/**
 * Per-example features of rows [start, end) of a data set, one batch-sized input tensor at a time
 * built from the host rows: on wasm, slicing a large tensor copies all of it per call.
 */
export function featurizeDataset(
  model: tfl.LayersModel,
  ds: Dataset,
  start: number,
  end: number,
  spec: FeaturizeSpec,
): ExampleFeatures {
  const batch = spec.batchSize ?? 256;
  const parts: ExampleFeatures[] = [];
  for (let s = start; s < end; s += batch) {
    const e = Math.min(end, s + batch);
    const xs = inputTensor(model, ds, s, e);
    try {
      const labels = ds.labels.subarray(s, e);
      const unlabeled = labels.some((l) => l < 0);
      parts.push(featurize(model, xs, unlabeled ? null : labels, spec));
    } finally {
      xs.dispose();
    }
  }
  return concatFeatures(parts);
}

/**
 * featurizeDataset's batches (the same batches, the same bits), yielding to the event loop after
 * each: the gradient kernels run on this thread, so an upload or download in flight only moves
 * (its socket drained, the next request sent) between them.
 */
export async function featurizeDatasetYielding(
  model: tfl.LayersModel,
  ds: Dataset,
  start: number,
  end: number,
  spec: FeaturizeSpec,
): Promise<ExampleFeatures> {
  const batch = spec.batchSize ?? 256;
  const parts: ExampleFeatures[] = [];
  for (let s = start; s < end; s += batch) {
    parts.push(featurizeDataset(model, ds, s, Math.min(end, s + batch), spec));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return concatFeatures(parts);
}

/** Joins features of consecutive row ranges (same layout). */
export function concatFeatures(parts: ExampleFeatures[]): ExampleFeatures {
  if (parts.length === 1) return parts[0];
  const { dim, layers } = parts[0].grads;
  const rows = parts.reduce((s, p) => s + p.grads.rows, 0);
  const data = new Float32Array(rows * dim);
  const loss = new Float32Array(rows);
  const sqNorm = new Float64Array(rows);
  const L = layers.length;
  const layerSqNorm = new Float64Array(rows * L);
  let r = 0;
  for (const p of parts) {
    if (p.grads.dim !== dim)
      throw new Error(`cannot join features of dims ${dim} and ${p.grads.dim}`);
    data.set(p.grads.data, r * dim);
    loss.set(p.loss, r);
    sqNorm.set(p.sqNorm, r);
    if (p.layerSqNorm) layerSqNorm.set(p.layerSqNorm, r * L);
    r += p.grads.rows;
  }
  return { grads: { rows, dim, data, layers }, loss, sqNorm, layerSqNorm };
}
