/**
 * A compute process's warm-up: one small attribution run through the stages a worker serves
 * (query and training featurize, the shards scored from memory, the curvature, the influence
 * self-score, the reduce), in process, on a temporary local store, before the process takes
 * work. V8 compiles a function well only once it has been called a few times: a loop over a
 * whole shard's features in a function's first two calls runs in on-stack-replaced code,
 * 2.5-4 ns a value against 0.7 once the function is entered optimized (allFinite over 15.6M
 * float32s on the development machine), and a worker of bench:main scores only three shards. The
 * run's data and model are synthetic and nothing of it is kept but the compiled code.
 *
 * It takes the main job's path where V8 would otherwise compile in the first real shard: the
 * influence self-score's sketched Gram (lib/jobs/mainJob.ts; a K-FAC run now compiles that in its
 * first shard), files written in several chunks as a real shard's are (the chunked upload; no
 * gain of its own showed through the noise), and enough batches (4 shards) that TensorFlow.js's
 * per-op engine functions get optimized. V8 then compiles about 40% less in a worker's first
 * real shard (--trace-opt: 282-350 ms of compile time against 410-628, later shards ~100), the
 * first shard's extra time over the later ones fell by about 0.2 s on average, and bench:main's
 * median from 9.64 to 9.05 s over eleven alternated pairs; the warm-up takes about 1 s longer
 * (BENCHMARKS.md, twentieth session).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { writePartitioned } from '../data/partitionedDataset';
import { Rng } from '../data/rng';
import { saveCheckpoint } from '../model/checkpoints';
import { FsStore } from '../store/fsStore';
import { buildPlan } from './buildPlan';
import { featurizeShard } from './featurizeShard';
import { reduceInProcess } from './reduceInProcess';
import { RunContext } from './runContext';
import type { RunSpecInput } from './runSpec';
import { storePlan } from './storePlan';

const D = 64;
const CLASSES = 10;
/** Rows per part and per shard: each shard a whole part (its inputs stored by reference). */
const PART_ROWS = 1024;
const TRAIN_PARTS = 4;
/** Rows per chunk of a feature file: four chunks per file, as a real shard's several. */
const CHUNK_ROWS = 256;

function synthetic(name: string, rows: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * D);
  for (let k = 0; k < x.length; k++) x[k] = rng.next();
  return {
    name,
    kind: 'tabular',
    shape: [D],
    classes: Array.from({ length: CLASSES }, (_, c) => `c${c}`),
    rows,
    ids: Int32Array.from({ length: rows }, (_, i) => i),
    labels: Int32Array.from({ length: rows }, (_, i) => i % CLASSES),
    x,
  };
}

/** Writes the run's data and a ReLU MLP's 3 checkpoints (each scaled from the last). */
async function writeRun(store: FsStore): Promise<RunSpecInput> {
  await writePartitioned(
    store,
    'train',
    synthetic('warm-up-train', TRAIN_PARTS * PART_ROWS, 1),
    PART_ROWS,
  );
  await writePartitioned(store, 'query', synthetic('warm-up-query', 64, 2), PART_ROWS);
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const model = tfl.sequential({
    name: 'warm-up',
    layers: [
      tfl.layers.dense({
        name: 'h1',
        inputShape: [D],
        units: 32,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tfl.layers.dense({ name: 'h2', units: 16, activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.dense({ name: 'logits', units: CLASSES, kernelInitializer: init(3) }),
    ],
  });
  try {
    for (const step of [1, 2, 3]) {
      // Distinct weights per checkpoint, so no featurize finds another's file committed.
      if (step > 1) {
        const scaled = tf.tidy(() => model.getWeights().map((w) => tf.mul(w, 1.1)));
        model.setWeights(scaled);
        tf.dispose(scaled);
      }
      await saveCheckpoint(model, store, 'model/checkpoints.json', {
        model: 'warm-up',
        step,
        learningRate: 0.1,
      });
    }
  } finally {
    model.dispose();
  }
  return {
    name: 'warm-up',
    checkpoints: 'model/checkpoints.json',
    train: 'train',
    query: 'query',
    method: 'tracin',
    projector: { kind: 'none', dtype: 'float32' },
    // The main job's self-score (a sketched Gram of the last layer's factors).
    selfScore: { kind: 'influence', layers: 'last', sketch: { k1: 16, k2: 16, seed: 0 } },
    topK: 5,
    shardSize: PART_ROWS,
  };
}

/**
 * Runs the warm-up: its seconds, and the tensors it left (0: the stages free what they make; a
 * test checks it). Its files go with it.
 */
export async function warmUp(): Promise<{ seconds: number; tensorsLeft: number }> {
  const t0 = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'tda-warm-up-'));
  const tensors = tf.memory().numTensors;
  const store = new FsStore(dir);
  const ctx = new RunContext(store);
  try {
    const spec = await writeRun(store);
    const plan = await buildPlan(store, spec, (key) => ctx.model(key));
    const planKey = await storePlan(store, plan);
    const checkpoints = plan.checkpoints.map((_, c) => c);
    for (let s = 0; s < plan.query.shards.length; s++) {
      await featurizeShard(ctx, { planKey, set: 'query', shard: s, checkpoints });
    }
    for (let s = 0; s < plan.train.shards.length; s++) {
      const r = await featurizeShard(
        ctx,
        { planKey, set: 'train', shard: s, checkpoints, score: true },
        { chunkRows: CHUNK_ROWS },
      );
      if (!r.scored) throw new Error(`warm-up: shard ${s} was not scored from memory`);
    }
    await reduceInProcess(ctx, planKey);
  } finally {
    await ctx.dispose();
    await rm(dir, { recursive: true, force: true });
  }
  return {
    seconds: (performance.now() - t0) / 1000,
    tensorsLeft: tf.memory().numTensors - tensors,
  };
}
