import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../lib/data/dataset';
import { writePartitioned } from '../../lib/data/partitionedDataset';
import { Rng } from '../../lib/data/rng';
import { saveCheckpoint } from '../../lib/model/checkpoints';
import type { RunSpecInput } from '../../lib/pipeline/runSpec';
import type { ObjectStore } from '../../lib/store/objectStore';
import { resume, train } from '../../lib/train/trainer';

/** Three Gaussian blobs in d dimensions, with a few labels flipped. */
export function blobs(name: string, rows: number, d: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * d);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = i % 3;
    labels[i] = i % 17 === 5 ? (c + 1) % 3 : c;
    for (let j = 0; j < d; j++) x[i * d + j] = (j % 3 === c ? 1.5 : 0) + (rng.next() - 0.5) * 2;
  }
  return {
    name,
    kind: 'tabular',
    shape: [d],
    classes: ['a', 'b', 'c'],
    rows,
    ids: Int32Array.from({ length: rows }, (_, i) => i),
    labels,
    x,
  };
}

/**
 * A small but real run on a store: an MLP trained with the project's trainer, 3 checkpoints in
 * a manifest, training and query sets as partitioned Arrow data sets.
 */
export async function makeTinyRun(
  store: ObjectStore,
  prefix: string,
  opts: {
    trainRows?: number;
    queryRows?: number;
    rowsPerPart?: number;
    /** The hidden layer's activation (default tanh; relu gives exact factors many zeros). */
    activation?: 'tanh' | 'relu';
  } = {},
): Promise<RunSpecInput> {
  const d = 6;
  const trainSet = blobs('tiny-train', opts.trainRows ?? 300, d, 1);
  const querySet = blobs('tiny-query', opts.queryRows ?? 12, d, 2);
  await writePartitioned(store, `${prefix}/train`, trainSet, opts.rowsPerPart ?? 128);
  await writePartitioned(store, `${prefix}/query`, querySet, 8);
  // Fixed names: auto-generated ones count up per process and would change the model's hash.
  const model = tfl.sequential({
    name: 'tiny',
    layers: [
      tfl.layers.dense({
        name: 'hidden',
        inputShape: [d],
        units: 8,
        activation: opts.activation ?? 'tanh',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
      }),
      tfl.layers.dense({
        name: 'logits',
        units: 3,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  const x = tf.tensor2d(trainSet.x as Float32Array, [trainSet.rows, d]);
  const data = { x, labels: trainSet.labels };
  const config = { optimizer: { kind: 'sgd' as const }, learningRate: 0.1, batchSize: 32, seed: 3 };
  const manifestKey = `${prefix}/model/checkpoints.json`;
  let state = await train(model, data, config, 10);
  await saveCheckpoint(model, store, manifestKey, { model: 'tiny', step: 10, learningRate: 0.1 });
  for (const step of [20, 30]) {
    state = await resume(model, data, state, step);
    await saveCheckpoint(model, store, manifestKey, { model: 'tiny', step, learningRate: 0.1 });
  }
  x.dispose();
  model.dispose();
  return {
    name: 'tiny',
    checkpoints: manifestKey,
    train: `${prefix}/train`,
    query: `${prefix}/query`,
    method: 'tracin',
    projector: { kind: 'kronecker', k1: 4, k2: 3, seed: 7, dtype: 'float16' },
    topK: 5,
    shardSize: 50,
    queryBlock: 8,
    window: 3,
    shardsPerChild: 3,
    batchSize: 16,
  };
}
