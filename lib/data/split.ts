import { type Dataset, takeRows } from './dataset';
import { permutation } from './rng';

/**
 * A seeded split of row indices 0..n-1: a random `testFraction` (rounded) goes to test; both
 * lists are returned in ascending order so that a split keeps the source's row order.
 */
export function splitIndices(
  n: number,
  testFraction: number,
  seed: number,
): { train: Int32Array; test: Int32Array } {
  if (!(testFraction >= 0 && testFraction <= 1)) {
    throw new Error(`testFraction must be in [0, 1], got ${testFraction}`);
  }
  const p = permutation(n, seed);
  const nTest = Math.round(n * testFraction);
  const test = p.slice(0, nTest).sort();
  const train = p.slice(nTest).sort();
  return { train, test };
}

/** A seeded train/test split of a dataset (rows copied; each part's ids renumbered 0..n-1, as ids are row ids within their set). */
export function splitDataset(
  ds: Dataset,
  testFraction: number,
  seed: number,
): { train: Dataset; test: Dataset } {
  const { train, test } = splitIndices(ds.rows, testFraction, seed);
  return {
    train: renumber(takeRows(ds, train, `${ds.name}-train`)),
    test: renumber(takeRows(ds, test, `${ds.name}-test`)),
  };
}

function renumber(ds: Dataset): Dataset {
  for (let i = 0; i < ds.rows; i++) ds.ids[i] = i;
  return ds;
}

/**
 * A seeded k-fold assignment of rows 0..n-1: row i's fold in [0, k). Folds differ in size by at
 * most one (a seeded permutation dealt round-robin), so every method given the same (n, k, seed)
 * holds out the same rows.
 */
export function kFolds(n: number, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2 || k > n) {
    throw new Error(`k-fold split needs an integer k in [2, ${n}] (the rows), got ${k}`);
  }
  const p = permutation(n, seed);
  const fold = new Int32Array(n);
  for (let r = 0; r < n; r++) fold[p[r]] = r % k;
  return fold;
}
