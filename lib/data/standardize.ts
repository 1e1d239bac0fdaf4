import { type Dataset, exampleSize } from './dataset';

/** Per-feature mean and standard deviation, fitted on a training split and applied to every split. */
export interface Standardizer {
  mean: number[];
  std: number[];
}

/** Fits in float64; a constant feature gets std 1 so that it maps to 0 rather than NaN. */
export function fitStandardizer(ds: Dataset): Standardizer {
  if (!ds.x) throw new Error(`dataset "${ds.name}" has no features x to standardise`);
  if (ds.rows === 0) throw new Error(`dataset "${ds.name}" has no rows to fit a standardiser on`);
  const d = exampleSize(ds.shape);
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let r = 0; r < ds.rows; r++) {
    for (let j = 0; j < d; j++) mean[j] += ds.x[r * d + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= ds.rows;
  for (let r = 0; r < ds.rows; r++) {
    for (let j = 0; j < d; j++) {
      const c = ds.x[r * d + j] - mean[j];
      sq[j] += c * c;
    }
  }
  const std = Array.from(sq, (s) => Math.sqrt(s / ds.rows) || 1);
  return { mean: Array.from(mean), std };
}

/** A copy of the dataset with (x - mean) / std per feature. */
export function applyStandardizer(ds: Dataset, s: Standardizer): Dataset {
  if (!ds.x) throw new Error(`dataset "${ds.name}" has no features x to standardise`);
  const d = exampleSize(ds.shape);
  if (s.mean.length !== d || s.std.length !== d) {
    throw new Error(
      `standardiser has ${s.mean.length} features but dataset "${ds.name}" has d=${d}`,
    );
  }
  const x = new Float32Array(ds.x.length);
  for (let r = 0; r < ds.rows; r++) {
    for (let j = 0; j < d; j++) x[r * d + j] = (ds.x[r * d + j] - s.mean[j]) / s.std[j];
  }
  return { ...ds, x };
}
