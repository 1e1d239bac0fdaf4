/**
 * V8's old-generation growth for a process that computes on large typed arrays (a worker, `tda
 * score`). V8 starts a full mark-compact once the old generation plus the ArrayBuffer memory
 * allocated since the last one passes a limit of live heap × a growing factor. That factor
 * follows the rate at which JavaScript objects are allocated, and the gradient engine allocates
 * few objects but hundreds of megabytes of feature arrays per shard. So V8 picks its least factor
 * (about 1.1), and with the ~85 MB a worker holds (TensorFlow.js, the Temporal and S3 clients),
 * about every 10 MB of new arrays started another mark-compact. Each one marks the whole heap on
 * a helper thread. In bench:main's workers that was one every ~120 ms, and 40% of their CPU time
 * went to the GC (`perf record` on both workers, BENCHMARKS.md). A fixed factor of 2.5 lets
 * about 130 MB of arrays come and go between collections: the featurize step's CPU went from
 * 10.7 to 6.4 CPU-s, with peak RSS about the same.
 */
import { setFlagsFromString } from 'node:v8';

/** Old generation may grow to (1 + p/100) × its live size before a mark-compact. */
export const HEAP_GROWING_PERCENT = 150;

/**
 * Sets V8's heap growing percent for this process: TDA_HEAP_GROWING_PERCENT if set (0 restores
 * V8's own adaptive factor), else HEAP_GROWING_PERCENT. Returns the value set.
 */
export function setHeapGrowth(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TDA_HEAP_GROWING_PERCENT;
  const p = raw === undefined || raw === '' ? HEAP_GROWING_PERCENT : Number(raw);
  if (!Number.isInteger(p) || p < 0) {
    throw new Error(`TDA_HEAP_GROWING_PERCENT must be a non-negative integer, got "${raw}"`);
  }
  setFlagsFromString(`--heap-growing-percent=${p}`);
  return p;
}
