import type { Dataset } from './dataset';
import { Rng } from './rng';

/**
 * A copy of the dataset with round(fraction × labeled rows) labels flipped, each to a class drawn
 * uniformly among the other classes; `flipped` and `originalLabels` record what changed, so that
 * mislabel detection can be scored. Unlabeled rows (-1) are never chosen.
 */
export function flipLabels(ds: Dataset, fraction: number, seed: number): Dataset {
  if (!(fraction >= 0 && fraction <= 1))
    throw new Error(`flip fraction must be in [0, 1], got ${fraction}`);
  const k = ds.classes.length;
  if (k < 2)
    throw new Error(`dataset "${ds.name}" has ${k} class; flipping labels needs at least 2`);
  if (ds.flipped) throw new Error(`dataset "${ds.name}" already has flipped labels`);
  const labeled: number[] = [];
  for (let i = 0; i < ds.rows; i++) if (ds.labels[i] >= 0) labeled.push(i);
  const rng = new Rng(seed);
  rng.shuffle(labeled);
  const nFlip = Math.round(fraction * labeled.length);
  const labels = Int32Array.from(ds.labels);
  const flipped = new Uint8Array(ds.rows);
  for (let j = 0; j < nFlip; j++) {
    const i = labeled[j];
    // Uniform over the k - 1 other classes: draw from [0, k-1) and skip over the original.
    const r = rng.int(k - 1);
    labels[i] = r >= ds.labels[i] ? r + 1 : r;
    flipped[i] = 1;
  }
  return { ...ds, labels, flipped, originalLabels: Int32Array.from(ds.labels) };
}

/**
 * Regression targets with round(fraction × n) of them corrupted: moved by (2 + 2u)·σ (σ the
 * targets' standard deviation, u uniform in [0, 1)) up or down at random, far enough to be wrong
 * and close enough to stay inside the data's range. `corrupted` records which.
 */
export function corruptTargets(
  targets: ArrayLike<number>,
  fraction: number,
  seed: number,
): { targets: Float32Array; corrupted: Uint8Array } {
  if (!(fraction >= 0 && fraction <= 1))
    throw new Error(`corrupt fraction must be in [0, 1], got ${fraction}`);
  const n = targets.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += targets[i] / n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (targets[i] - mean) ** 2 / n;
  const sigma = Math.sqrt(variance);
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  const out = Float32Array.from(targets);
  const corrupted = new Uint8Array(n);
  for (let j = 0; j < Math.round(fraction * n); j++) {
    const i = order[j];
    const sign = rng.next() < 0.5 ? -1 : 1;
    out[i] = targets[i] + sign * (2 + 2 * rng.next()) * sigma;
    corrupted[i] = 1;
  }
  return { targets: out, corrupted };
}
