import { type FeatureRows, featureRows, featureRowsFit } from '../grad/featurize';

/**
 * Feature arrays a worker process uses again from one featurize to the next. A shard's features
 * are hundreds of MB (bench:main: 3 checkpoints × 10,000 rows × 1,565 values, 188 MB), far
 * above malloc's mapping threshold: fresh arrays were mapped from the kernel, faulted in and
 * zeroed page by page each time, and each 64 MiB of new ArrayBuffers started a V8 full
 * collection. Arrays go back when the featurize that leased them is done; every value of a
 * reused array is written before it is read (featurizeBatches writes whole rows, and a kept
 * checkpoint's chunks cover its rows from the first: featurizeShard refuses to keep a resumed
 * one), so nothing of an earlier shard can show through.
 */

/** Free arrays kept for the next lease, at most this many bytes (the oldest go first). */
export const RETAINED_BYTES = 512 * 2 ** 20;

const free: FeatureRows[] = [];

const bytesOf = (r: FeatureRows) =>
  r.data.byteLength + r.loss.byteLength + r.sqNorm.byteLength + r.layerSqNorm.byteLength;

/** Arrays taken for one featurize; `release` returns them all to the pool. */
export interface FeatureArrayLease {
  /** Arrays for `rows` rows of `dim` values and `layers` norms: a free one of that size, or new. */
  take(rows: number, dim: number, layers: number): FeatureRows;
  /** Returns every array taken; none may be used after. Idempotent. */
  release(): void;
}

export function leaseFeatureArrays(retainedBytes = RETAINED_BYTES): FeatureArrayLease {
  let taken: FeatureRows[] = [];
  return {
    take(rows, dim, layers) {
      const i = free.findIndex((r) => featureRowsFit(r, rows, dim, layers));
      const r = i >= 0 ? free.splice(i, 1)[0] : featureRows(rows, dim, layers);
      taken.push(r);
      return r;
    },
    release() {
      free.push(...taken);
      taken = [];
      let bytes = free.reduce((s, r) => s + bytesOf(r), 0);
      while (bytes > retainedBytes && free.length > 0)
        bytes -= bytesOf(free.shift() as FeatureRows);
    },
  };
}

/** The free arrays the pool holds, oldest first (for tests). */
export function pooledFeatureArrays(): readonly FeatureRows[] {
  return free;
}
