/**
 * The gradient engine's own rate (what bench:grads measures) on a run's model and rows with the
 * run's featurize settings, in this process after the run's workers stopped: what the pipeline
 * benchmarks print beside their featurize rate per worker (issue 15: within 1.5× of it).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../lib/data/dataset';
import { setHeapGrowth } from '../lib/heapGrowth';
import { featurizeDataset } from '../lib/pipeline/featurizeDataset';
import { shardFeaturizeSpec } from '../lib/pipeline/featurizeShard';
import type { Plan } from '../lib/pipeline/types';

/** Examples/s featurizing up to 4,096 rows of `ds` over and over for `seconds`, after a warm-up. */
export function engineRate(model: tfl.LayersModel, ds: Dataset, plan: Plan, seconds = 3): number {
  // Like with like: the workers compute under this heap setting too.
  setHeapGrowth();
  const spec = shardFeaturizeSpec(plan);
  const rows = Math.min(4096, ds.rows);
  featurizeDataset(model, ds, 0, Math.min(1024, rows), spec); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    featurizeDataset(model, ds, 0, rows, spec);
    n += rows;
  }
  return n / ((performance.now() - t0) / 1000);
}
