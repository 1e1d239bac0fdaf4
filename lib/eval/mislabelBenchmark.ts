/**
 * The mislabel-detection benchmark as one function: train a model on data with known flipped
 * labels (lib/train, checkpoints kept in memory), featurize the training set at each checkpoint
 * (lib/grad), rank the examples by each method's self-score (lib/methods) and score the rankings
 * (mislabelReport). The methods see only the noisy labels; `flipped` is used for scoring alone.
 *
 * Seconds per method = featurizing the checkpoints it uses (one pass yields projected gradients,
 * exact norms and losses together, so methods sharing checkpoints share that cost) + its own
 * arithmetic; for 'loss', one forward pass at θ_f.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { computeFactors, planModel } from '../grad/factors';
import { featurize } from '../grad/featurize';
import type { FactorBlock, FeaturizeSpec, LayerSelection, ProjectorSpec } from '../grad/types';
import type { DataInfOptions } from '../methods/dataInf';
import { dataInfSelfScores } from '../methods/dataInfSelf';
import { type EkfacOptions, ekfacSelfScores, fitEkfac } from '../methods/influence/ekfac';
import {
  influenceSelfOverCheckpoints,
  influenceSelfScores,
} from '../methods/influence/influenceSelf';
import { type CurvatureOptions, projectedCurvature } from '../methods/influence/projectedCurvature';
import { sampledLabels } from '../methods/influence/sampledLabels';
import { selfInfluence } from '../methods/selfInfluence';
import { forwardLogits, planChain } from '../train/forward';
import { crossEntropyPerExample } from '../train/loss';
import { writeWeights } from '../train/trainer';
import type { TrainConfig } from '../train/trainState';
import { type SavedCheckpoint, trainWithCheckpoints } from '../train/trainWithCheckpoints';
import { DEFAULT_FRACTIONS, mislabelReport } from './mislabel';

export const MISLABEL_METHODS = [
  'tracInSelf',
  'tracInSelfProjected',
  'gradDotSelf',
  'loss',
  'influenceSelf',
  'influenceSelfCheckpoints',
  'dataInfSelf',
  'ekfacSelf',
] as const;
export type MislabelMethod = (typeof MISLABEL_METHODS)[number];

export interface MislabelBenchmarkInput {
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
  tracInCheckpoints?: number[];
  projector: ProjectorSpec;
  layers?: LayerSelection;
  featurizeBatchSize?: number;
  methods?: MislabelMethod[];
  curvature?: CurvatureOptions;
  dataInf?: DataInfOptions;
  ekfac?: EkfacOptions;
  /**
   * EK-FAC's curvature from gradients with labels sampled from the model (true Fisher, the
   * default) or with the observed labels (empirical Fisher).
   */
  ekfacFisher?: 'sampled' | 'empirical';
  /** The projected influence function's curvature: empirical Fisher (default) or sampled labels. */
  influenceFisher?: 'sampled' | 'empirical';
  /** Layers EK-FAC covers (default `layers`); it needs layers with dense inputs (no Embedding). */
  ekfacLayers?: LayerSelection;
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

/**
 * Rows [start, start + m) of x as a new tensor. Built from the host copy rather than tf.slice:
 * on the wasm backend slicing a large tensor costs about a copy of the whole tensor per call
 * (measured 0.1 s per 512-row slice of a 60000×784 tensor), which made featurizing 60k rows 15×
 * slower than 10k.
 */
function rowChunk(host: Float32Array, shape: number[], start: number, m: number): tf.Tensor {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  return tf.tensor(host.subarray(start * per, (start + m) * per), [m, ...shape.slice(1)]);
}

const CHUNK_ROWS = 4096;

/** featurize over row chunks (see rowChunk), concatenating the per-example outputs. */
export function featurizeChunked(
  model: LayersModel,
  host: Float32Array,
  shape: number[],
  labels: Int32Array,
  spec: FeaturizeSpec,
): ExampleFeatures {
  const n = shape[0];
  let out: ExampleFeatures | null = null;
  for (let s = 0; s < n; s += CHUNK_ROWS) {
    const m = Math.min(CHUNK_ROWS, n - s);
    const xb = rowChunk(host, shape, s, m);
    let f: ExampleFeatures;
    try {
      f = featurize(model, xb, labels.subarray(s, s + m), spec);
    } finally {
      xb.dispose();
    }
    if (!out) {
      const L = f.grads.layers.length;
      out = {
        grads: {
          rows: n,
          dim: f.grads.dim,
          data: new Float32Array(n * f.grads.dim),
          layers: f.grads.layers,
        },
        loss: new Float32Array(n),
        sqNorm: new Float64Array(n),
        layerSqNorm: new Float64Array(n * L),
      };
    }
    const L = out.grads.layers.length;
    out.grads.data.set(f.grads.data, s * out.grads.dim);
    out.loss.set(f.loss, s);
    out.sqNorm.set(f.sqNorm, s);
    if (f.layerSqNorm && out.layerSqNorm) out.layerSqNorm.set(f.layerSqNorm, s * L);
  }
  if (!out) throw new Error('mislabelBenchmark: no examples to featurize');
  return out;
}

/** The training set's unprojected gradient factors at the model's weights, a batch at a time. */
function* factorBatches(
  model: LayersModel,
  host: Float32Array,
  shape: number[],
  labels: Int32Array,
  layers: LayerSelection | undefined,
  batch: number,
): Generator<FactorBlock[]> {
  const plan = planModel(model, layers);
  for (const { x, start, rows } of inputBatches(host, shape, batch)) {
    yield computeFactors(plan, x, labels.subarray(start, start + rows)).blocks;
  }
}

/** Consecutive row batches of the host inputs as tensors, each disposed after its turn. */
function* inputBatches(
  host: Float32Array,
  shape: number[],
  batch: number,
): Generator<{ x: tf.Tensor; start: number; rows: number }> {
  for (let start = 0; start < shape[0]; start += batch) {
    const rows = Math.min(batch, shape[0] - start);
    const x = rowChunk(host, shape, start, rows);
    try {
      yield { x, start, rows };
    } finally {
      x.dispose();
    }
  }
}

/** A label per training row sampled from the model (seeded per batch), for true-Fisher curvature. */
function sampledTrainLabels(
  model: LayersModel,
  host: Float32Array,
  shape: number[],
  batch: number,
  seed: number,
): Int32Array {
  const out = new Int32Array(shape[0]);
  for (const { x, start } of inputBatches(host, shape, batch)) {
    out.set(sampledLabels(model, x, seed + start), start);
  }
  return out;
}

/** EK-FAC self-influence at the model's weights: fit (two passes), then score (a third). */
function ekfacSelf(
  model: LayersModel,
  host: Float32Array,
  shape: number[],
  labels: Int32Array,
  layers: LayerSelection | undefined,
  batch: number,
  opts: EkfacOptions | undefined,
  fisherKind: 'sampled' | 'empirical',
): Float64Array {
  // The true Fisher by default: labels sampled from the model, not the (noisy) observed ones.
  const fisher =
    fisherKind === 'empirical' ? labels : sampledTrainLabels(model, host, shape, batch, 1000);
  const ekfac = fitEkfac(() => factorBatches(model, host, shape, fisher, layers, batch), opts);
  const out = new Float64Array(shape[0]);
  let s = 0;
  for (const blocks of factorBatches(model, host, shape, labels, layers, batch)) {
    out.set(ekfacSelfScores(ekfac, blocks), s);
    s += blocks[0].rows;
  }
  return out;
}

/** Per-example loss and accuracy at the model's current weights, in batches. */
function evaluate(
  model: LayersModel,
  x: tf.Tensor,
  labels: Int32Array,
  batch: number,
): { loss: Float64Array; accuracy: number } {
  const plan = planChain(model);
  const n = x.shape[0];
  const host = x.dataSync() as Float32Array;
  const loss = new Float64Array(n);
  let correct = 0;
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const [l, p] = tf.tidy(() => {
      const logits = forwardLogits(plan, rowChunk(host, x.shape, s, m));
      const y = tf.tensor1d(labels.subarray(s, s + m), 'int32');
      return [crossEntropyPerExample(logits, y), tf.argMax(logits, 1)];
    });
    loss.set(l.dataSync(), s);
    const pred = p.dataSync();
    for (let i = 0; i < m; i++) if (pred[i] === labels[s + i]) correct++;
    tf.dispose([l, p]);
  }
  return { loss, accuracy: correct / n };
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
  const batch = input.featurizeBatchSize ?? 512;
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
  const trainAccuracy = evaluate(model, input.x, input.labels, batch).accuracy;
  const testAccuracy = input.test
    ? evaluate(model, input.test.x, input.test.labels, batch).accuracy
    : undefined;
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
  const methods = input.methods ?? [...MISLABEL_METHODS];
  for (const m of methods) {
    if (!MISLABEL_METHODS.includes(m)) {
      throw new Error(
        `mislabelBenchmark: unknown method '${m}' (known: ${MISLABEL_METHODS.join(', ')})`,
      );
    }
  }
  const flipped = Array.from(input.flipped, (f) => Boolean(f));
  const noise = flipped.filter(Boolean).length / n;
  const fractions = DEFAULT_FRACTIONS;
  const batch = input.featurizeBatchSize ?? 512;

  const own = trained === undefined;
  const run = trained ?? (await trainMislabelModel(input));
  const { model, saved, trainSeconds } = run;
  const checkpoints = saved.map(({ step, learningRate }) => ({ step, learningRate }));

  const xHost = input.x.dataSync() as Float32Array;
  const finalIndex = saved.length - 1;
  const tracInIdx = input.tracInCheckpoints ?? saved.map((_, i) => i);
  for (const c of tracInIdx) {
    if (!Number.isInteger(c) || c < 0 || c > finalIndex) {
      throw new Error(`mislabelBenchmark: no checkpoint ${c} (have 0..${finalIndex})`);
    }
  }
  const wantTracIn = methods.some((m) => m === 'tracInSelf' || m === 'tracInSelfProjected');
  const wantIfCkpt = methods.includes('influenceSelfCheckpoints');
  const needed = new Set<number>([finalIndex, ...(wantTracIn || wantIfCkpt ? tracInIdx : [])]);
  const tracExact = new Float64Array(n);
  const tracProjected = new Float64Array(n);
  const ifCkpt = new Float64Array(n);
  let tracSeconds = 0;
  let ifCkptSeconds = 0;
  let tracInFeatSeconds = 0;
  let finalFeatures: ExampleFeatures | null = null;
  let finalFeatSeconds = 0;
  const add = (into: Float64Array, s: Float64Array) => {
    for (let i = 0; i < n; i++) into[i] += s[i];
  };
  // One checkpoint's features at a time: n × k per checkpoint would not all fit for large n.
  for (const c of [...needed].sort((a, b) => a - b)) {
    writeWeights(model, saved[c].weights);
    const [feat, sec] = time(() =>
      featurizeChunked(model, xHost, input.x.shape, input.labels, {
        layers: input.layers,
        projector: input.projector,
        batchSize: batch,
      }),
    );
    log(
      `  featurized checkpoint ${c} (step ${saved[c].step}): dim ${feat.grads.dim}, ${sec.toFixed(1)} s`,
    );
    if (tracInIdx.includes(c)) {
      tracInFeatSeconds += sec;
      const cp = [checkpoints[c]];
      if (wantTracIn) {
        const [[e, p], s] = time(() => [
          selfInfluence([feat], cp, 'exact'),
          selfInfluence([feat], cp, 'projected'),
        ]);
        tracSeconds += s;
        add(tracExact, e);
        add(tracProjected, p);
        input.onScores?.(`tracInSelf@${c}`, e);
      }
      if (wantIfCkpt) {
        const [s, sec] = time(() => influenceSelfOverCheckpoints([feat], cp, input.curvature));
        ifCkptSeconds += sec;
        add(ifCkpt, s);
        input.onScores?.(`influenceSelfCheckpoints@${c}`, s);
      }
      input.onScores?.(`loss@${c}`, Float64Array.from(feat.loss));
    }
    if (c === finalIndex) {
      finalFeatures = feat;
      finalFeatSeconds = sec;
    }
  }
  const fin = finalFeatures as ExampleFeatures;

  const results: Record<string, MislabelMethodResult> = {};
  for (const m of methods) {
    let scores: Float64Array;
    let seconds: number;
    if (m === 'tracInSelf' || m === 'tracInSelfProjected') {
      scores = m === 'tracInSelf' ? tracExact : tracProjected;
      seconds = tracInFeatSeconds + tracSeconds / 2;
    } else if (m === 'influenceSelfCheckpoints') {
      scores = ifCkpt;
      seconds = tracInFeatSeconds + ifCkptSeconds;
    } else if (m === 'gradDotSelf') {
      const [s, sec] = time(() => Float64Array.from(fin.sqNorm));
      scores = s;
      seconds = finalFeatSeconds + sec;
    } else if (m === 'loss') {
      writeWeights(model, saved[finalIndex].weights);
      const [s, sec] = time(() => evaluate(model, input.x, input.labels, batch).loss);
      scores = s;
      seconds = sec;
    } else if (m === 'influenceSelf') {
      const [s, sec] = time(() => {
        let fit = fin;
        if (input.influenceFisher === 'sampled') {
          // The true Fisher: the same projection of gradients with labels sampled from the model.
          writeWeights(model, saved[finalIndex].weights);
          const sampled = sampledTrainLabels(model, xHost, input.x.shape, batch, 2000);
          fit = featurizeChunked(model, xHost, input.x.shape, sampled, {
            layers: input.layers,
            projector: input.projector,
            batchSize: batch,
          });
        }
        const curvature = projectedCurvature(fit, input.curvature);
        return influenceSelfScores(fin, curvature);
      });
      scores = s;
      seconds = finalFeatSeconds + sec;
    } else if (m === 'ekfacSelf') {
      writeWeights(model, saved[finalIndex].weights);
      const [s, sec] = time(() =>
        ekfacSelf(
          model,
          xHost,
          input.x.shape,
          input.labels,
          input.ekfacLayers ?? input.layers,
          batch,
          input.ekfac,
          input.ekfacFisher ?? 'sampled',
        ),
      );
      scores = s;
      seconds = sec;
    } else {
      const [s, sec] = time(() => dataInfSelfScores(fin, input.dataInf));
      scores = s;
      seconds = finalFeatSeconds + sec;
    }
    input.onScores?.(m, scores);
    results[m] = toResult(scores, flipped, fractions, seconds);
    const r = results[m];
    log(
      `  ${m.padEnd(20)} found@5% ${r.found_at_5pct.toFixed(3)}  @10% ${r.found_at_10pct.toFixed(3)}  ` +
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
