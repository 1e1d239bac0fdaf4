/**
 * Mislabel and outlier detection for the two heads the classification benchmark does not cover:
 * a single sigmoid unit (binary cross-entropy; labels flipped) and a single linear unit
 * (regression, squared error; targets corrupted). An MLP with that head is trained by SGD on the
 * noisy targets; at every checkpoint the gradient engine featurizes the training set (exact
 * gradients over every layer); the examples are ranked by TracIn-CP self-influence
 * Σ_c η ‖g_i(θ_c)‖² and by the final loss, and the rankings scored as in mislabelReport.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../data/rng';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { featurize } from '../grad/featurize';
import { selfInfluence } from '../methods/selfInfluence';
import { DEFAULT_FRACTIONS } from './mislabel';
import { type MislabelMethodResult, toResult } from './mislabelBenchmark';

export type NoisyHead = 'binary' | 'regression';

export interface HeadNoiseInput {
  dataset: string;
  head: NoisyHead;
  /** Row-major rows × features, standardised. */
  x: Float32Array;
  features: number;
  /** The noisy targets: 0/1 labels (binary) or standardised real values (regression). */
  targets: Float32Array;
  /** 1 where the target was flipped or corrupted: for scoring only. */
  corrupted: Uint8Array;
  hidden: number;
  epochs: number;
  /** Epochs between checkpoints; the last epoch always ends with one. */
  checkpointEvery: number;
  learningRate: number;
  batchSize: number;
  seed: number;
  log?: (line: string) => void;
}

export interface HeadNoiseReport {
  dataset: string;
  head: NoisyHead;
  noise: number;
  train_size: number;
  methods: Record<'tracinSelf' | 'loss', MislabelMethodResult>;
  epochs: number;
  checkpoints: CheckpointInfo[];
  train_seconds: number;
  /** Accuracy on the noisy labels (binary) or R² on the noisy targets (regression). */
  train_fit: number;
}

function makeModel(input: HeadNoiseInput): tfl.LayersModel {
  return tfl.sequential({
    name: `${input.dataset}-${input.head}`,
    layers: [
      tfl.layers.dense({
        name: 'hidden',
        inputShape: [input.features],
        units: input.hidden,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: input.seed }),
      }),
      tfl.layers.dense({
        name: 'out',
        units: 1,
        activation: input.head === 'binary' ? 'sigmoid' : 'linear',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: input.seed + 1 }),
      }),
    ],
  });
}

/** Mean loss of a batch as the engine's head defines it: binary cross-entropy or squared error. */
function batchLoss(head: NoisyHead, out: tf.Tensor, y: tf.Tensor): tf.Scalar {
  const yhat = tf.reshape(out, [-1]);
  if (head === 'regression') return tf.mean(tf.square(tf.sub(yhat, y)));
  const p = tf.clipByValue(yhat, 1e-7, 1 - 1e-7);
  return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p))))));
}

/** Accuracy (binary) or R² (regression) of the model on the targets it was trained on. */
function fit(head: NoisyHead, model: tfl.LayersModel, x: tf.Tensor, targets: Float32Array): number {
  const pred = tf.tidy(() => tf.reshape(model.predict(x) as tf.Tensor, [-1]).dataSync());
  const n = targets.length;
  if (head === 'binary') {
    let correct = 0;
    for (let i = 0; i < n; i++) if ((pred[i] > 0.5 ? 1 : 0) === targets[i]) correct++;
    return correct / n;
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += targets[i] / n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (pred[i] - targets[i]) ** 2;
    ssTot += (targets[i] - mean) ** 2;
  }
  return 1 - ssRes / ssTot;
}

export function headNoiseBenchmark(input: HeadNoiseInput): HeadNoiseReport {
  const log = input.log ?? (() => {});
  const n = input.targets.length;
  const d = input.features;
  const model = makeModel(input);
  const x = tf.tensor2d(input.x, [n, d]);
  const y = tf.tensor1d(input.targets);
  const ys = input.head === 'binary' ? Int32Array.from(input.targets) : input.targets;
  const optimizer = tf.train.sgd(input.learningRate);
  const rng = new Rng(input.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  const features: ExampleFeatures[] = [];
  const checkpoints: CheckpointInfo[] = [];
  let trainSeconds = 0;
  let step = 0;
  try {
    for (let epoch = 1; epoch <= input.epochs; epoch++) {
      const t0 = performance.now();
      rng.shuffle(order);
      for (let s = 0; s < n; s += input.batchSize) {
        const idx = tf.tensor1d(order.slice(s, s + input.batchSize), 'int32');
        tf.tidy(() => {
          const xb = tf.gather(x, idx);
          const yb = tf.gather(y, idx);
          optimizer.minimize(() =>
            batchLoss(input.head, model.apply(xb, { training: true }) as tf.Tensor, yb),
          );
        });
        idx.dispose();
        step++;
      }
      trainSeconds += (performance.now() - t0) / 1000;
      if (epoch % input.checkpointEvery === 0 || epoch === input.epochs) {
        // Exact per-example gradients over every layer at this checkpoint.
        features.push(featurize(model, x, ys, { projector: { kind: 'none' }, layers: 'all' }));
        checkpoints.push({ step, learningRate: input.learningRate });
      }
    }
    const trainFit = fit(input.head, model, x, input.targets);
    log(
      `${input.dataset} (${input.head} head): ${n} rows, ${checkpoints.length} checkpoints, ` +
        `train ${input.head === 'binary' ? 'accuracy' : 'R²'} ${trainFit.toFixed(3)}`,
    );
    const flagged = Array.from(input.corrupted, (c) => c === 1);
    const t0 = performance.now();
    const tracIn = selfInfluence(features, checkpoints);
    const tracInSeconds = (performance.now() - t0) / 1000;
    const loss = Float64Array.from(features[features.length - 1].loss);
    const methods = {
      tracinSelf: toResult(tracIn, flagged, DEFAULT_FRACTIONS, tracInSeconds),
      loss: toResult(loss, flagged, DEFAULT_FRACTIONS, 0),
    };
    for (const [m, r] of Object.entries(methods)) {
      log(
        `  ${m.padEnd(12)} found@5% ${r.found_at_5pct.toFixed(3)}  @10% ${r.found_at_10pct.toFixed(3)}  ` +
          `@20% ${r.found_at_20pct.toFixed(3)}  @30% ${r.found_at_30pct.toFixed(3)}  AUC ${r.auc.toFixed(4)}`,
      );
    }
    const noise = flagged.filter(Boolean).length / n;
    return {
      dataset: input.dataset,
      head: input.head,
      noise,
      train_size: n,
      methods,
      epochs: input.epochs,
      checkpoints,
      train_seconds: trainSeconds,
      train_fit: trainFit,
    };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}
