/**
 * The mislabel-detection benchmark as one function: train a model on data with known flipped
 * labels (lib/train, checkpoints kept in memory), featurize the training set at the checkpoints
 * the requested rankings need (lib/pipeline featurizeDataset), rank the examples by each
 * self-scorer (./selfScorers) and score the rankings (mislabelReport). The methods see only the
 * noisy labels; `flipped` is used for scoring alone.
 *
 * Seconds per method = featurizing the checkpoints it uses (one pass yields projected gradients,
 * exact norms and losses together, so methods sharing checkpoints share that cost) + its own
 * arithmetic; for 'loss', one forward pass at θ_f.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import type { ProjectorSpec } from '../grad/types';
import { featurizeDataset } from '../pipeline/featurizeDataset';
import { evaluateModel } from '../train/evaluateModel';
import { writeWeights } from '../train/trainer';
import type { TrainConfig } from '../train/trainState';
import { type SavedCheckpoint, trainWithCheckpoints } from '../train/trainWithCheckpoints';
import { DEFAULT_FRACTIONS, mislabelReport } from './mislabel';
import {
  featurizeBatch,
  featurizeSpec,
  isSelfScorerName,
  SELF_SCORERS,
  type SelfScoreOptions,
  type SelfScorerName,
  selfScorers,
} from './selfScorers';

export interface MislabelBenchmarkInput extends SelfScoreOptions {
  dataset: string;
  /** Training inputs (first dimension = examples) and their noisy labels. */
  x: tf.Tensor;
  labels: Int32Array;
  /** 1 where the label was flipped: for scoring only. */
  flipped: ArrayLike<number | boolean>;
  /** Optional held-out set, to report the model's accuracy. */
  test?: { x: tf.Tensor; labels: Int32Array };
  /** A fresh, untrained model (a Sequential chain ending in logits or softmax). */
  makeModel: () => LayersModel;
  train: TrainConfig;
  epochs: number;
  /** Steps between checkpoints (default: one per epoch); the last step always saves one. */
  checkpointEvery?: number;
  /** Indices of saved checkpoints TracIn-CP sums over (default all); θ_f is always the last. */
  tracinCheckpoints?: number[];
  /** Rankings (selfScorers' names; default all). */
  methods?: SelfScorerName[];
  log?: (line: string) => void;
  /** Receives each method's per-example scores (for offline analysis of rankings). */
  onScores?: (method: string, scores: Float64Array) => void;
}

export interface MislabelMethodResult {
  found_at_5pct: number;
  found_at_10pct: number;
  found_at_20pct: number;
  found_at_30pct: number;
  auc: number;
  seconds: number;
}

export interface MislabelBenchmarkReport {
  dataset: string;
  noise: number;
  train_size: number;
  methods: Record<string, MislabelMethodResult>;
  epochs: number;
  checkpoints: CheckpointInfo[];
  projector: ProjectorSpec;
  train_seconds: number;
  train_accuracy: number;
  test_accuracy?: number;
}

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const v = f();
  return [v, (performance.now() - t0) / 1000];
};

/** Tensor rows and labels as a data set (the form lib/pipeline featurizes), sharing the host copy. */
export function tensorDataset(name: string, x: tf.Tensor, labels: Int32Array): Dataset {
  const rows = x.shape[0];
  const host = x.dataSync();
  return {
    name,
    kind: 'tabular',
    shape: x.shape.slice(1),
    classes: [],
    rows,
    ids: Int32Array.from({ length: rows }, (_, i) => i),
    labels,
    ...(host instanceof Int32Array ? { tokens: host } : { x: host as Float32Array }),
  };
}

/** One ranking scored as the benchmark reports it (found@5/10/20/30%, AUC, seconds). */
export function toResult(
  scores: Float64Array,
  flipped: boolean[],
  fractions: number[],
  seconds: number,
): MislabelMethodResult {
  const r = mislabelReport(scores, flipped, fractions);
  const at = (f: number) => r.foundAt.find((e) => Math.abs(e.fraction - f) < 1e-12)?.found ?? NaN;
  return {
    found_at_5pct: at(0.05),
    found_at_10pct: at(0.1),
    found_at_20pct: at(0.2),
    found_at_30pct: at(0.3),
    auc: r.auc,
    seconds,
  };
}

/** The benchmark's model trained on the noisy labels, with its checkpoints (reusable across passes). */
export interface TrainedMislabelModel {
  model: LayersModel;
  saved: SavedCheckpoint[];
  trainSeconds: number;
  trainAccuracy: number;
  testAccuracy?: number;
}

export async function trainMislabelModel(
  input: MislabelBenchmarkInput,
): Promise<TrainedMislabelModel> {
  const log = input.log ?? (() => {});
  const batch = featurizeBatch(input);
  const model = input.makeModel();
  const t0 = performance.now();
  const saved = await trainWithCheckpoints(
    model,
    { x: input.x, labels: input.labels },
    {
      config: input.train,
      epochs: input.epochs,
      checkpointEvery: input.checkpointEvery,
      onStep: ({ step, totalSteps, loss }) => {
        if (step % 100 === 0 || step === totalSteps) {
          log(`  step ${step}/${totalSteps} batch loss ${loss.toFixed(4)}`);
        }
      },
    },
  );
  const trainSeconds = (performance.now() - t0) / 1000;
  const accuracy = (x: tf.Tensor, labels: Int32Array) =>
    evaluateModel(model, tensorDataset(input.dataset, x, labels), batch).accuracy;
  const trainAccuracy = accuracy(input.x, input.labels);
  const testAccuracy = input.test ? accuracy(input.test.x, input.test.labels) : undefined;
  log(
    `${input.dataset}: trained ${input.epochs} epochs (${saved.length} checkpoints at steps ${saved.map((c) => c.step).join(', ')}) in ${trainSeconds.toFixed(1)} s; ` +
      `accuracy on noisy training labels ${trainAccuracy.toFixed(4)}` +
      (testAccuracy !== undefined ? `, test ${testAccuracy.toFixed(4)}` : ''),
  );
  return { model, saved, trainSeconds, trainAccuracy, testAccuracy };
}

/**
 * Ranks by every requested method. `trained`: a model from trainMislabelModel on the same input
 * (then the caller disposes it); otherwise one is trained here and disposed at the end.
 */
export async function mislabelBenchmark(
  input: MislabelBenchmarkInput,
  trained?: TrainedMislabelModel,
): Promise<MislabelBenchmarkReport> {
  const log = input.log ?? (() => {});
  const n = input.x.shape[0];
  if (input.labels.length !== n || input.flipped.length !== n) {
    throw new Error(
      `mislabelBenchmark: ${n} examples but ${input.labels.length} labels and ${input.flipped.length} flipped flags`,
    );
  }
  const methods = input.methods ?? SELF_SCORERS;
  for (const m of methods) {
    if (!isSelfScorerName(m)) {
      throw new Error(
        `mislabelBenchmark: unknown method '${m}' (known: ${SELF_SCORERS.join(', ')})`,
      );
    }
  }
  const flipped = Array.from(input.flipped, (f) => Boolean(f));
  const noise = flipped.filter(Boolean).length / n;

  const own = trained === undefined;
  const run = trained ?? (await trainMislabelModel(input));
  const { model, saved, trainSeconds } = run;
  const checkpoints = saved.map(({ step, learningRate }) => ({ step, learningRate }));
  const train = tensorDataset(input.dataset, input.x, input.labels);

  const finalIndex = saved.length - 1;
  const tracinIdx = input.tracinCheckpoints ?? saved.map((_, i) => i);
  for (const c of tracinIdx) {
    if (!Number.isInteger(c) || c < 0 || c > finalIndex) {
      throw new Error(`mislabelBenchmark: no checkpoint ${c} (have 0..${finalIndex})`);
    }
  }
  const scorers = methods.map((name) => ({ name, scorer: selfScorers[name] }));
  const overCheckpoints = scorers.filter((s) => s.scorer.over === 'checkpoints');
  const needFinal = scorers.some((s) => s.scorer.over === 'final' && s.scorer.features);
  const needed = new Set<number>([
    ...(needFinal ? [finalIndex] : []),
    ...(overCheckpoints.length > 0 ? tracinIdx : []),
  ]);
  // Per checkpoint scorer: its running sum and seconds of its own arithmetic.
  const sums = new Map(overCheckpoints.map(({ name }) => [name, new Float64Array(n)]));
  const ownSeconds = new Map<string, number>();
  const addSeconds = (name: string, s: number) =>
    ownSeconds.set(name, (ownSeconds.get(name) ?? 0) + s);
  let tracinFeatSeconds = 0;
  let finalFeatures: ExampleFeatures | undefined;
  let finalFeatSeconds = 0;
  // One checkpoint's features at a time: n × k per checkpoint would not all fit for large n.
  for (const c of [...needed].sort((a, b) => a - b)) {
    writeWeights(model, saved[c].weights);
    const [feat, sec] = time(() => featurizeDataset(model, train, 0, n, featurizeSpec(input)));
    log(
      `  featurized checkpoint ${c} (step ${saved[c].step}): dim ${feat.grads.dim}, ${sec.toFixed(1)} s`,
    );
    if (tracinIdx.includes(c) && overCheckpoints.length > 0) {
      tracinFeatSeconds += sec;
      for (const { name, scorer } of overCheckpoints) {
        if (scorer.over !== 'checkpoints') continue;
        const [term, s] = time(() => scorer.score(feat, checkpoints[c], input));
        addSeconds(name, s);
        const sum = sums.get(name) as Float64Array;
        for (let i = 0; i < n; i++) sum[i] += term[i];
        input.onScores?.(`${name}@${c}`, term);
      }
      input.onScores?.(`loss@${c}`, Float64Array.from(feat.loss));
    }
    if (c === finalIndex && needFinal) {
      finalFeatures = feat;
      finalFeatSeconds = sec;
    }
  }

  const results: Record<string, MislabelMethodResult> = {};
  for (const { name, scorer } of scorers) {
    let scores: Float64Array;
    let seconds: number;
    if (scorer.over === 'checkpoints') {
      scores = sums.get(name) as Float64Array;
      seconds = tracinFeatSeconds + (ownSeconds.get(name) ?? 0);
    } else {
      writeWeights(model, saved[finalIndex].weights);
      const features = finalFeatures as ExampleFeatures;
      [scores, seconds] = time(() => scorer.score({ model, train, features, options: input }));
      if (scorer.features) seconds += finalFeatSeconds;
    }
    input.onScores?.(name, scores);
    const r = toResult(scores, flipped, DEFAULT_FRACTIONS, seconds);
    results[name] = r;
    log(
      `  ${name.padEnd(20)} found@5% ${r.found_at_5pct.toFixed(3)}  @10% ${r.found_at_10pct.toFixed(3)}  ` +
        `@20% ${r.found_at_20pct.toFixed(3)}  @30% ${r.found_at_30pct.toFixed(3)}  AUC ${r.auc.toFixed(4)}  ${seconds.toFixed(1)} s`,
    );
  }
  if (own) model.dispose();
  return {
    dataset: input.dataset,
    noise,
    train_size: n,
    methods: results,
    epochs: input.epochs,
    checkpoints,
    projector: input.projector,
    train_seconds: trainSeconds,
    train_accuracy: run.trainAccuracy,
    ...(run.testAccuracy !== undefined ? { test_accuracy: run.testAccuracy } : {}),
  };
}
