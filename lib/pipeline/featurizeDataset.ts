import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Dataset, hasFiniteRows } from '../data/dataset';
import type { ExampleFeatures } from '../features';
import { planModel } from '../grad/factors';
import {
  type BatchInput,
  type FeaturizeOptions,
  featurizeBatches,
  runFeaturize,
} from '../grad/featurize';
import { hostTensor } from '../grad/layers/handler';
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
  // A data set's rows never change once read, so the engine may read them back from here.
  return hostTensor(ds.x.subarray(start * d, end * d), [n, ...inShape]);
}

/**
 * The batches of a data set's rows from `start` on: each batch's input tensor built from the host
 * rows (on wasm, slicing a large tensor copies all of it per call), its labels, or none for a
 * batch with an unlabeled (negative) one, and whether validateDataset found its rows finite.
 */
function datasetBatches(model: tfl.LayersModel, ds: Dataset, start: number) {
  const finite = hasFiniteRows(ds);
  return (s: number, e: number): BatchInput => {
    const labels = ds.labels.subarray(start + s, start + e);
    const unlabeled = labels.some((l) => l < 0);
    const xs = inputTensor(model, ds, start + s, start + e);
    return { xs, targets: unlabeled ? null : labels, finite };
  };
}

/** Per-example features of rows [start, end) of a data set, a batch at a time. */
export function featurizeDataset(
  model: tfl.LayersModel,
  ds: Dataset,
  start: number,
  end: number,
  spec: FeaturizeSpec,
): ExampleFeatures {
  const input = datasetBatches(model, ds, start);
  return runFeaturize(featurizeBatches(planModel(model, spec.layers), end - start, input, spec));
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
  options: FeaturizeOptions = {},
): Promise<ExampleFeatures> {
  const input = datasetBatches(model, ds, start);
  const steps = featurizeBatches(planModel(model, spec.layers), end - start, input, spec, options);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
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
