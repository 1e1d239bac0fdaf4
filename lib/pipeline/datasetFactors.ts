import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { computeFactors, planModel } from '../grad/factors';
import type { FactorBlock, FeaturizeSpec } from '../grad/types';
import { type Ekfac, type EkfacOptions, fitEkfac } from '../methods/influence/ekfac';
import { sampledLabels } from '../methods/influence/sampledLabels';
import { inputTensor } from './featurizeDataset';

type BatchSpec = Pick<FeaturizeSpec, 'layers' | 'batchSize' | 'testFunction'>;

const batchOf = (spec: BatchSpec) => spec.batchSize ?? 256;

/**
 * A label per row drawn from the model (sampledLabels), a batch of rows at a time, batch starting at
 * row s seeded `seed + s`: the labels of a true-Fisher curvature.
 */
export function sampledDatasetLabels(
  model: tfl.LayersModel,
  ds: Dataset,
  batchSize: number,
  seed: number,
): Int32Array {
  const out = new Int32Array(ds.rows);
  for (let s = 0; s < ds.rows; s += batchSize) {
    const x = inputTensor(model, ds, s, Math.min(ds.rows, s + batchSize));
    try {
      out.set(sampledLabels(model, x, seed + s), s);
    } finally {
      x.dispose();
    }
  }
  return out;
}

/**
 * The unprojected gradient factors (computeFactors) of every row of a data set, a batch at a
 * time, with `labels` in place of the data set's own (a batch with an unlabeled row goes
 * without labels: the test function needs none).
 */
export function* datasetFactorBatches(
  model: tfl.LayersModel,
  ds: Dataset,
  spec: BatchSpec,
  labels: Int32Array = ds.labels,
): Generator<FactorBlock[]> {
  const plan = planModel(model, spec.layers);
  const batch = batchOf(spec);
  for (let s = 0; s < ds.rows; s += batch) {
    const e = Math.min(ds.rows, s + batch);
    const x = inputTensor(model, ds, s, e);
    try {
      const y = labels.subarray(s, e);
      const unlabeled = y.some((l) => l < 0);
      yield computeFactors(plan, x, unlabeled ? null : y, spec.testFunction).blocks;
    } finally {
      x.dispose();
    }
  }
}

/**
 * EK-FAC fitted on a training set at the model's weights (two passes). The curvature's labels
 * follow `options.fisher`: drawn from the model (the true Fisher, default; seeded from `seed`) or
 * the observed ones (the empirical Fisher).
 */
export function fitDatasetEkfac(
  model: tfl.LayersModel,
  ds: Dataset,
  spec: BatchSpec,
  options: EkfacOptions = {},
  seed = 0,
): Ekfac {
  const labels =
    (options.fisher ?? 'sampled') === 'sampled'
      ? sampledDatasetLabels(model, ds, batchOf(spec), seed)
      : ds.labels;
  const fit = { layers: spec.layers, batchSize: spec.batchSize };
  return fitEkfac(() => datasetFactorBatches(model, ds, fit, labels), options);
}
