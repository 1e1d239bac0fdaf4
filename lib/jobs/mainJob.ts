/**
 * The main job's inputs and attribution spec (README's `npm start`, and bench:main, which runs
 * the same attribution exactly): Fashion-MNIST with 10% of training labels flipped, an MLP
 * 784-256-128-10 trained for 3 epochs with a checkpoint per epoch, TracIn-CP over all 60,000
 * training examples for 100 test queries, ranked for the mislabel audit by the influence
 * self-score over the last layer.
 */
import { importFashionMnist } from '../data/importIdx';
import { flipLabels } from '../data/labelNoise';
import { writePartitioned } from '../data/partitionedDataset';
import type { RunSpecInput } from '../pipeline/runSpec';
import { readManifest } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { trainJob } from './trainJob';

export const MAIN_JOB = {
  train: 'demo/fashion-mnist/train-flip10-seed1',
  query: 'demo/fashion-mnist/t10k',
  checkpoints: 'demo/models/fashion-mlp/checkpoints.json',
} as const;

/** Imports the data and trains the model unless the store has them already. */
export async function prepareMainJob(
  store: ObjectStore,
  log: (msg: string) => void,
): Promise<void> {
  if (!(await readManifest(store, MAIN_JOB.train))) {
    const train = flipLabels(importFashionMnist('train'), 0.1, 1);
    await writePartitioned(store, MAIN_JOB.train, train, 10_000);
    await writePartitioned(store, MAIN_JOB.query, importFashionMnist('t10k'), 10_000);
    log('imported Fashion-MNIST (60,000 + 10,000), 10% of training labels flipped');
  }
  await trainJob(
    store,
    {
      data: MAIN_JOB.train,
      checkpoints: MAIN_JOB.checkpoints,
      name: 'fashion-mlp',
      architecture: { kind: 'mlp', hidden: [256, 128] },
      config: {
        optimizer: { kind: 'momentum', momentum: 0.9 },
        learningRate: 0.02,
        batchSize: 128,
        seed: 1,
      },
      epochs: 3,
    },
    (m) => log(`train: ${m}`),
  );
}

/** The main job's attribution. */
export function mainJobSpec(queries = 100): RunSpecInput {
  return {
    name: 'fashion-mnist-demo',
    checkpoints: MAIN_JOB.checkpoints,
    train: MAIN_JOB.train,
    query: MAIN_JOB.query,
    queryLimit: queries,
    method: 'tracin',
    projector: { kind: 'kronecker', k1: 32, k2: 32, seed: 0, dtype: 'float16' },
    topK: 20,
    shardSize: 10_000,
    // The mislabel ranking: the influence self-score over the last layer's stored features,
    // summed over the checkpoints (bench:mislabel: the best attribution ranking).
    selfScore: { kind: 'influence', layers: 'last' },
  };
}
