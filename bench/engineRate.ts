/**
 * The gradient engine's own rate (what bench:grads measures) on a run's model and rows with the
 * run's featurize settings, in this process while no worker runs: what the pipeline benchmarks
 * print beside their featurize rate per worker (issue 15: within 1.5× of it). They measure it
 * before the run and after it, and compare with the faster: the development hosts' speed drifts
 * by up to 1.8× within minutes (bench/hostLoop.ts), and one measurement taken in a slow spell
 * made the ratio look better than it was.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../lib/data/dataset';
import { readPart, readPartitionedInfo } from '../lib/data/partitionedDataset';
import { setHeapGrowth } from '../lib/heapGrowth';
import { buildPlan } from '../lib/pipeline/buildPlan';
import { featurizeDataset } from '../lib/pipeline/featurizeDataset';
import { shardFeaturizeSpec } from '../lib/pipeline/featurizeShard';
import { RunContext } from '../lib/pipeline/runContext';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import type { Plan } from '../lib/pipeline/types';
import type { ObjectStore } from '../lib/store/objectStore';

/** engineRate on a run spec: its plan, its last checkpoint and its training set's first part. */
export async function specEngineRate(store: ObjectStore, spec: RunSpecInput): Promise<number> {
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, spec, (k) => ctx.model(k));
  const model = await ctx.model(plan.checkpoints[plan.checkpoints.length - 1].key);
  const info = await readPartitionedInfo(store, plan.train.prefix);
  return engineRate(model, await readPart(store, plan.train.prefix, info, 0), plan);
}

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
