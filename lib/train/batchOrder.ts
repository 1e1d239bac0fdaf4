import { philox4x32, seedKey, toUnit } from './philox';

/**
 * Minibatch order as a pure function of (seed, step): each epoch is a fresh permutation drawn
 * from the counter-based generator keyed by (seed, epoch), so a resumed run or a paired run with
 * an example removed sees exactly the same batches without replaying earlier steps.
 */

/** Counter word 0 tags which stream a draw belongs to, so streams never overlap. */
export const STREAM_PERMUTATION = 1;
export const STREAM_DROPOUT = 2;

/** Fisher–Yates permutation of 0..n−1 for one epoch. */
export function epochPermutation(seed: number, epoch: number, n: number): Int32Array {
  const [k0, k1] = seedKey(seed);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const out = new Uint32Array(4);
  for (let i = n - 1; i > 0; i--) {
    philox4x32(STREAM_PERMUTATION, epoch, i, 0, k0, k1, out);
    // Two words give 53 bits, so the bias of floor(u·(i+1)) is negligible for any n we meet.
    const u = toUnit(out[0]) + toUnit(out[1]) / 4294967296;
    const j = Math.floor(u * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

export function batchesPerEpoch(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/**
 * Training-set indices of the batch taken at `step` (0-based). Epochs are split into
 * ceil(n / batchSize) batches; the last batch of an epoch is smaller when batchSize ∤ n.
 */
export function batchIndices(seed: number, step: number, n: number, batchSize: number): Int32Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`training set size must be ≥ 1, got ${n}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const bpe = batchesPerEpoch(n, batchSize);
  const epoch = Math.floor(step / bpe);
  const k = step - epoch * bpe;
  const perm = permutationCache(seed, epoch, n);
  return perm.slice(k * batchSize, Math.min((k + 1) * batchSize, n));
}

// One epoch's permutation serves every step of that epoch; keep the last few.
const cache = new Map<string, Int32Array>();
function permutationCache(seed: number, epoch: number, n: number): Int32Array {
  const key = `${seed}/${epoch}/${n}`;
  let p = cache.get(key);
  if (!p) {
    p = epochPermutation(seed, epoch, n);
    if (cache.size >= 8) cache.delete(cache.keys().next().value as string);
    cache.set(key, p);
  }
  return p;
}
