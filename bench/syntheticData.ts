/**
 * The synthetic attribution workload of bench:scale and bench:scale-local: 784-dimensional
 * examples (class prototypes plus noise) written part by part as a partitioned data set, and an
 * MLP 784-256-128-10 trained on the first part with one checkpoint every 20 steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type Dataset, writeDataset } from '../lib/data/dataset';
import type { PartitionedInfo } from '../lib/data/partitionedDataset';
import { Rng } from '../lib/data/rng';
import { saveCheckpoint } from '../lib/model/checkpoints';
import { sha256, Transaction } from '../lib/store/commit';
import type { ObjectStore } from '../lib/store/objectStore';
import { resume, train } from '../lib/train/trainer';

export const D = 784;
export const CLASSES = 10;

/** Class prototypes (20% ones), one row of D per class. */
export function prototypes(seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: CLASSES * D }, () => (rng.next() < 0.2 ? 1 : 0));
}

/** Class prototypes plus noise; the seed makes every bench run's data (and features) new. */
function rows(rng: Rng, protos: Float32Array, n: number, firstId: number): Dataset {
  const x = new Float32Array(n * D);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng.next() * CLASSES);
    labels[i] = c;
    for (let j = 0; j < D; j++) x[i * D + j] = protos[c * D + j] + (rng.next() - 0.5);
  }
  return {
    name: 'synthetic',
    kind: 'tabular',
    shape: [D],
    classes: Array.from({ length: CLASSES }, (_, c) => `c${c}`),
    rows: n,
    ids: Int32Array.from({ length: n }, (_, i) => firstId + i),
    labels,
    x,
  };
}

/** Writes a partitioned data set part by part, never holding all of it (1M × 784 is 3 GB). */
export async function writeSynthetic(
  store: ObjectStore,
  prefix: string,
  n: number,
  seed: number,
  protos: Float32Array,
  rowsPerPart: number,
): Promise<{ bytes: number; first: Dataset }> {
  const rng = new Rng(seed);
  const tx = new Transaction(store, prefix);
  const parts: PartitionedInfo['parts'] = [];
  let bytes = 0;
  let first: Dataset | undefined;
  for (let start = 0, i = 0; start < n; start += rowsPerPart, i++) {
    const part = rows(rng, protos, Math.min(rowsPerPart, n - start), start);
    first ??= part;
    const b = writeDataset(part);
    const name = `part-${String(i).padStart(5, '0')}.arrow`;
    await tx.put(name, b);
    parts.push({ name, rows: part.rows, sha256: sha256(b) });
    bytes += b.byteLength;
  }
  const { x: _x, ids: _i, labels: _l, ...meta } = first!;
  await tx.commit({ ...meta, rows: n, parts });
  return { bytes, first: first! };
}

/**
 * Trains the MLP on (up to 2,000 rows of) `first` and saves a checkpoint at steps 20, 40, ...
 * (`checkpoints` of them) under manifestKey.
 */
export async function trainSyntheticModel(
  store: ObjectStore,
  manifestKey: string,
  first: Dataset,
  checkpoints: number,
): Promise<void> {
  const model = tfl.sequential({
    name: 'mlp',
    layers: [
      tfl.layers.dense({
        name: 'h1',
        inputShape: [D],
        units: 256,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
      }),
      tfl.layers.dense({
        name: 'h2',
        units: 128,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
      }),
      tfl.layers.dense({
        name: 'logits',
        units: CLASSES,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
  const nTrain = Math.min(first.rows, 2000);
  const x = tf.tensor2d((first.x as Float32Array).subarray(0, nTrain * D), [nTrain, D]);
  const data = { x, labels: first.labels.subarray(0, nTrain) };
  const trainConfig = {
    optimizer: { kind: 'sgd' as const },
    learningRate: 0.05,
    batchSize: 64,
    seed: 3,
  };
  let state = await train(model, data, trainConfig, 20);
  await saveCheckpoint(model, store, manifestKey, { model: 'mlp', step: 20, learningRate: 0.05 });
  for (let c = 1; c < checkpoints; c++) {
    const step = 20 * (c + 1);
    state = await resume(model, data, state, step);
    await saveCheckpoint(model, store, manifestKey, { model: 'mlp', step, learningRate: 0.05 });
  }
  x.dispose();
  model.dispose();
}
