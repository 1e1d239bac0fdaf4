/**
 * Mislabel detection (SPEC §8): flip 10% of training labels, train with checkpoints, rank the
 * training set by each method's self-score, report the fraction of flipped labels found in the
 * top 5/10/20/30% and the ROC AUC. Fashion-MNIST (MLP), SpamAssassin (Embedding + pooling) and
 * scikit-learn's classification CSVs (MLP). Beside them, on the same rows, noisy labels and k-fold
 * split, the confident-learning baseline people use (cleanlab with scikit-learn classifiers:
 * bench/confidentLearning.ts). The binary and regression heads get their own pass (flipped labels
 * on breast cancer with a sigmoid unit, corrupted targets on diabetes with a linear unit:
 * bench/mislabelHeads.ts). Last lines: one JSON object per dataset, Fashion-MNIST last.
 * One file over 300 lines because it is the benchmark's whole configuration: each data set's
 * model and training settings, the passes run over it and their environment knobs, side by side.
 *
 * Sizes (environment): MISLABEL_FMNIST_N (default 60000), MISLABEL_SPAM_N (default all),
 * MISLABEL_EPOCHS_FMNIST, MISLABEL_EPOCHS_SPAM, MISLABEL_SKIP_SPAM=1, MISLABEL_SKIP_FMNIST=1,
 * MISLABEL_METHODS (comma-separated subset), MISLABEL_EKFAC_DAMPING (relative, default 0.1),
 * MISLABEL_TRACIN_CKPTS (comma-separated checkpoint indices TracIn sums over; default all),
 * MISLABEL_LAYERS=last or names (the layers gradients cover; Fashion-MNIST), MISLABEL_PROJECTOR=none
 * (exact gradients; Fashion-MNIST, with MISLABEL_LAYERS=last), MISLABEL_IF_DAMPING (the projected
 * influence function's damping relative to the mean eigenvalue, default 0.1),
 * MISLABEL_LR_FMNIST (default 0.05), MISLABEL_CKPT_EPOCHS_FMNIST (epochs between checkpoints,
 * default 3), MISLABEL_DUMP_DIR (write every ranking's scores; see dumper), MISLABEL_FOLDS (k of
 * the k-fold split, default 5), MISLABEL_SKIP_CLEANLAB=1, MISLABEL_CLEANLAB=hgb|mlp (one
 * classifier), MISLABEL_SKIP_CSV=1, MISLABEL_CSV (comma-separated files under .data/sklearn,
 * default breast_cancer.csv,wine_data.csv,iris.csv,digits.csv.gz), MISLABEL_EPOCHS_CSV,
 * MISLABEL_SKIP_HEADS=1, MISLABEL_EPOCHS_HEADS (default 40).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../lib/data/dataset';
import { sliceRows } from '../lib/data/dataset';
import { importCsv, sklearnDataDir } from '../lib/data/importCsv';
import { importFashionMnist } from '../lib/data/importIdx';
import { importSpamAssassin } from '../lib/data/importText';
import { flipLabels } from '../lib/data/labelNoise';
import { kFolds } from '../lib/data/split';
import { DEFAULT_FRACTIONS } from '../lib/eval/mislabel';
import {
  type MislabelBenchmarkInput,
  type MislabelBenchmarkReport,
  mislabelBenchmark,
  type TrainedMislabelModel,
  toResult,
  trainMislabelModel,
} from '../lib/eval/mislabelBenchmark';
import { outOfFoldScores } from '../lib/eval/outOfFold';
import { FASHION_MNIST_FLIPS, MISLABEL_FOLD_SEED } from '../lib/eval/recordedBaselines';
import { SELF_SCORERS, type SelfScorerName } from '../lib/eval/selfScorers';
import type { LayerSelection } from '../lib/grad/types';
import { rankAverage } from '../lib/methods/rankAverage';
import { initBackend } from '../lib/tf/backend';
import { bagOfWords, type ConfidentLearningResult, confidentLearning } from './confidentLearning';
import { mislabelHeads } from './mislabelHeads';

const NOISE = 0.1;
const env = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const log = (line: string) => console.log(line);

/** MISLABEL_METHODS=loss,ekfacSelf runs a subset (default: all). */
function methodsFromEnv(): SelfScorerName[] | undefined {
  const v = process.env.MISLABEL_METHODS;
  return v ? (v.split(',') as SelfScorerName[]) : undefined;
}

/** MISLABEL_LAYERS: 'last', or comma-separated layer names (default: every layer). */
function layersFromEnv(): LayerSelection | undefined {
  const v = process.env.MISLABEL_LAYERS;
  if (!v) return undefined;
  return v === 'last' ? 'last' : { names: v.split(',') };
}

/**
 * MISLABEL_DUMP_DIR: write each method's scores (float64), the noisy labels (int32) and the
 * flipped flags (uint8) as raw little-endian files, for analysing rankings outside the bench.
 */
function dumper(prefix: string, labels: Int32Array, flipped: Uint8Array) {
  const dir = process.env.MISLABEL_DUMP_DIR;
  if (!dir) return undefined;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${prefix}.labels.i32`, labels);
  writeFileSync(`${dir}/${prefix}.flipped.u8`, flipped);
  return (method: string, scores: Float64Array) =>
    writeFileSync(`${dir}/${prefix}.${process.env.MISLABEL_DUMP_TAG ?? ''}${method}.f64`, scores);
}

const glorot = (seed: number) => tfl.initializers.glorotUniform({ seed });

const FOLDS = env('MISLABEL_FOLDS', 5);

/** A report with the confident-learning baseline's rankings, and which of them found most at 10%. */
type BenchReport = MislabelBenchmarkReport & {
  folds?: number;
  cleanlab_best?: { method: string; found_at_10pct: number };
  /** Accuracy of each tda fold model on its held-out rows (given labels). */
  oof_heldout_accuracy?: number[];
};

/** The in-sample ranking the out-of-fold scores are also combined with (the best so far). */
const IN_SAMPLE_BEST = 'influenceSelfCheckpoints@lastLayer';

/**
 * tda's out-of-fold rankings (lib/eval/outOfFold) on the same k-fold split as cleanlab, and rank
 * averages with the in-sample best, added to the report as oof:NAME and mix:NAME. Seconds
 * include training the fold models. Unless MISLABEL_SKIP_OOF.
 */
async function outOfFoldBeside(
  report: BenchReport,
  base: MislabelBenchmarkInput,
  inSample: Map<string, Float64Array>,
): Promise<void> {
  if (process.env.MISLABEL_SKIP_OOF) return;
  log(`${base.dataset}: tda out-of-fold, ${FOLDS} fold models:`);
  const folds = kFolds(base.labels.length, FOLDS, MISLABEL_FOLD_SEED);
  const oof = await outOfFoldScores(base, folds, FOLDS);
  const flipped = Array.from(base.flipped, Boolean);
  const seconds = oof.trainSeconds + oof.scoreSeconds;
  const rankings: Record<string, Float64Array> = {
    'oof:selfConfidence': oof.selfConfidence,
    'oof:selfConfidenceCheckpoints': oof.selfConfidenceCheckpoints,
    'oof:selfInfluence': oof.selfInfluence,
    'oof:rankAverage': oof.rankAverage,
  };
  const best = inSample.get(IN_SAMPLE_BEST);
  if (best) {
    rankings['mix:oofConfidence+influenceCkpt'] = rankAverage([oof.selfConfidence, best]);
    rankings['mix:oofConfidenceCkpts+influenceCkpt'] = rankAverage([
      oof.selfConfidenceCheckpoints,
      best,
    ]);
    rankings['mix:oofAll+influenceCkpt'] = rankAverage([
      oof.selfConfidence,
      oof.selfInfluence,
      best,
    ]);
  }
  // A mix also costs training the audited model and its in-sample ranking.
  const mixSeconds =
    seconds + report.train_seconds + (report.methods[IN_SAMPLE_BEST]?.seconds ?? 0);
  for (const [name, scores] of Object.entries(rankings)) {
    base.onScores?.(name, scores);
    const r = toResult(
      scores,
      flipped,
      DEFAULT_FRACTIONS,
      name.startsWith('mix:') ? mixSeconds : seconds,
    );
    report.methods[name] = r;
    log(
      `  ${name.padEnd(20)} found@5% ${r.found_at_5pct.toFixed(3)}  @10% ${r.found_at_10pct.toFixed(3)}  ` +
        `@20% ${r.found_at_20pct.toFixed(3)}  @30% ${r.found_at_30pct.toFixed(3)}  AUC ${r.auc.toFixed(4)}  ${r.seconds.toFixed(1)} s`,
    );
  }
  report.folds = FOLDS;
  report.oof_heldout_accuracy = oof.heldoutAccuracy;
}

/** onScores that also keeps the scores of `names` in `into`. */
function keeping(
  names: string[],
  into: Map<string, Float64Array>,
  then?: (method: string, scores: Float64Array) => void,
) {
  return (method: string, scores: Float64Array) => {
    if (names.includes(method)) into.set(method, scores);
    then?.(method, scores);
  };
}

/**
 * cleanlab on the same rows, noisy labels and a k-fold split, unless MISLABEL_SKIP_CLEANLAB.
 * `x`: the features (rows × dims) the scikit-learn classifiers see.
 */
function cleanlabBeside(
  prefix: string,
  ds: { rows: number; labels: Int32Array; flipped?: Uint8Array; classes: string[] },
  x: Float32Array,
  dims: number,
  mlp: { hidden: number[]; epochs: number },
): Record<string, ConfidentLearningResult> {
  if (process.env.MISLABEL_SKIP_CLEANLAB) return {};
  log(`  cleanlab (confident learning), ${FOLDS}-fold out-of-fold probabilities:`);
  return confidentLearning({
    x,
    rows: ds.rows,
    dims,
    classes: ds.classes.length,
    labels: ds.labels,
    folds: kFolds(ds.rows, FOLDS, MISLABEL_FOLD_SEED),
    k: FOLDS,
    mlpHidden: mlp.hidden,
    mlpEpochs: mlp.epochs,
    flipped: ds.flipped as Uint8Array,
    methods: process.env.MISLABEL_CLEANLAB?.split(','),
    log,
    onScores: dumper(prefix, ds.labels, ds.flipped as Uint8Array),
  });
}

/** The report with the baseline's rankings added to its methods. */
function withBaseline(
  report: MislabelBenchmarkReport,
  baseline: Record<string, ConfidentLearningResult>,
): BenchReport {
  const names = Object.keys(baseline);
  if (names.length === 0) return report;
  Object.assign(report.methods, baseline);
  const best = names.reduce((a, b) =>
    baseline[b].found_at_10pct > baseline[a].found_at_10pct ? b : a,
  );
  return {
    ...report,
    folds: FOLDS,
    cleanlab_best: { method: best, found_at_10pct: baseline[best].found_at_10pct },
  };
}

/** Methods of the second pass, over the last layer's gradients, reported as NAME@lastLayer. */
const LAST_LAYER_METHODS: SelfScorerName[] = [
  'influenceSelfCheckpoints',
  'influenceSelf',
  'tracinSelf',
  'gradDotSelf',
  'ekfacSelf',
  'dataInfSelf',
];

/** The same trained model with gradients of the last layer only, added as NAME@lastLayer. */
async function lastLayerPass(
  report: MislabelBenchmarkReport,
  base: MislabelBenchmarkInput,
  trained: TrainedMislabelModel,
  prefix: string,
  ds: { labels: Int32Array; flipped?: Uint8Array },
): Promise<Map<string, Float64Array>> {
  const kept = new Map<string, Float64Array>();
  log(`${base.dataset} again, gradients of the last layer only:`);
  const last = await mislabelBenchmark(
    {
      ...base,
      layers: 'last',
      methods: LAST_LAYER_METHODS,
      curvature: { ...base.curvature, relativeDamping: env('MISLABEL_IF_DAMPING_LAST', 0.01) },
      onScores: keeping(
        ['influenceSelfCheckpoints'],
        kept,
        dumper(prefix, ds.labels, ds.flipped as Uint8Array),
      ),
    },
    trained,
  );
  for (const [name, r] of Object.entries(last.methods)) report.methods[`${name}@lastLayer`] = r;
  return new Map([...kept].map(([m, s]) => [`${m}@lastLayer`, s]));
}

function fashionModel(): tfl.LayersModel {
  return tfl.sequential({
    name: 'fmnist-mlp',
    layers: [
      tfl.layers.dense({
        name: 'h1',
        inputShape: [784],
        units: 256,
        activation: 'relu',
        kernelInitializer: glorot(1),
      }),
      tfl.layers.dense({
        name: 'h2',
        units: 128,
        activation: 'relu',
        kernelInitializer: glorot(2),
      }),
      tfl.layers.dense({ name: 'logits', units: 10, kernelInitializer: glorot(3) }),
    ],
  });
}

/** Methods of the all-layer Fashion-MNIST pass unless MISLABEL_METHODS says otherwise. */
const FMNIST_ALL_LAYER_METHODS: SelfScorerName[] = SELF_SCORERS.filter(
  // One influence-function fit per checkpoint on 768 projected dimensions: about a minute each
  // on this machine; its all-layer figure is in BENCHMARKS.md (MISLABEL_METHODS runs it).
  (m) => m !== 'influenceSelfCheckpoints',
);

async function fashionMnist(): Promise<BenchReport> {
  const n = env('MISLABEL_FMNIST_N', 60000);
  const full = importFashionMnist('train', { limit: n });
  // The main job's flips (npm start compares its audit with this pass's cleanlab figure).
  const ds = flipLabels(full, FASHION_MNIST_FLIPS.fraction, FASHION_MNIST_FLIPS.seed);
  const test = importFashionMnist('t10k', { limit: 10000 });
  log(`Fashion-MNIST: ${ds.rows} training examples (of 60000), ${NOISE * 100}% labels flipped`);
  const x = tf.tensor2d(ds.x as Float32Array, [ds.rows, 784]);
  const tx = tf.tensor2d(test.x as Float32Array, [test.rows, 784]);
  const batchSize = 128;
  const stepsPerEpoch = Math.ceil(ds.rows / batchSize);
  const epochs = env('MISLABEL_EPOCHS_FMNIST', 30);
  const baseline = cleanlabBeside('fmnist', ds, ds.x as Float32Array, 784, {
    hidden: [256, 128],
    epochs,
  });
  const base: MislabelBenchmarkInput = {
    dataset: 'fashion-mnist',
    x,
    labels: ds.labels,
    flipped: ds.flipped as Uint8Array,
    test: { x: tx, labels: test.labels },
    makeModel: fashionModel,
    train: {
      optimizer: { kind: 'momentum', momentum: 0.9 },
      learningRate: env('MISLABEL_LR_FMNIST', 0.05),
      batchSize,
      seed: 7,
    },
    // Trained until it starts fitting the flipped labels, as deep models do (the final loss finds
    // 89.8% at 10% after epoch 7, 78.6% after epoch 30): the regime where the final loss stops
    // telling flipped labels apart and the checkpoint sums keep doing so.
    epochs,
    checkpointEvery: env('MISLABEL_CKPT_EPOCHS_FMNIST', 3) * stepsPerEpoch,
    projector:
      process.env.MISLABEL_PROJECTOR === 'none'
        ? { kind: 'none' }
        : { kind: 'kronecker', k1: 16, k2: 16, seed: 11 },
    ekfac: { relativeDamping: env('MISLABEL_EKFAC_DAMPING', 0.1) },
    curvature: {
      relativeDamping: env('MISLABEL_IF_DAMPING', 0.1),
      fisher: process.env.MISLABEL_IF_FISHER === 'sampled' ? 'sampled' : 'empirical',
    },
    tracinCheckpoints: process.env.MISLABEL_TRACIN_CKPTS?.split(',').map(Number),
    layers: layersFromEnv(),
    methods: methodsFromEnv() ?? FMNIST_ALL_LAYER_METHODS,
    log,
    onScores: dumper('fmnist', ds.labels, ds.flipped as Uint8Array),
  };
  const trained = await trainMislabelModel(base);
  try {
    const report = await mislabelBenchmark(base, trained);
    let kept = new Map<string, Float64Array>();
    if (!process.env.MISLABEL_LAYERS && !process.env.MISLABEL_METHODS) {
      // Where the curvature-weighted scores do best.
      kept = await lastLayerPass(report, base, trained, 'fmnistLast', ds);
    }
    const out = withBaseline(report, baseline);
    await outOfFoldBeside(out, base, kept);
    return out;
  } finally {
    trained.model.dispose();
    tf.dispose([x, tx]);
  }
}

async function spamAssassin(): Promise<BenchReport> {
  const vocabSize = 5000;
  const seqLen = 128;
  const { train, test } = importSpamAssassin({ vocabSize, seqLen, seed: 0 });
  const limit = env('MISLABEL_SPAM_N', train.rows);
  const ds: Dataset = flipLabels(sliceRows(train, 0, Math.min(limit, train.rows)), NOISE, 43);
  log(
    `SpamAssassin: ${ds.rows} training e-mails (of ${train.rows}), ${NOISE * 100}% labels flipped`,
  );
  const epochs = env('MISLABEL_EPOCHS_SPAM', 5);
  // scikit-learn sees what the Embedding + average pooling sees: each token's share of the text.
  const baseline = cleanlabBeside(
    'spam',
    ds,
    bagOfWords(ds.tokens as Int32Array, ds.rows, seqLen, vocabSize),
    vocabSize - 1,
    { hidden: [32, 16], epochs },
  );
  const toX = (d: Dataset) =>
    tf.tensor2d(Float32Array.from(d.tokens as Int32Array), [d.rows, seqLen]);
  const x = toX(ds);
  const tx = toX(test);
  const makeModel = () =>
    tfl.sequential({
      name: 'spam-embed',
      layers: [
        tfl.layers.embedding({
          name: 'embed',
          inputDim: vocabSize,
          outputDim: 32,
          inputLength: seqLen,
          embeddingsInitializer: tfl.initializers.randomUniform({
            minval: -0.05,
            maxval: 0.05,
            seed: 4,
          }),
        }),
        tfl.layers.globalAveragePooling1d({ name: 'pool' }),
        tfl.layers.dense({
          name: 'hidden',
          units: 16,
          activation: 'relu',
          kernelInitializer: glorot(5),
        }),
        tfl.layers.dense({ name: 'logits', units: 2, kernelInitializer: glorot(6) }),
      ],
    });
  try {
    const base: MislabelBenchmarkInput = {
      dataset: 'spam-assassin',
      x,
      labels: ds.labels,
      flipped: ds.flipped as Uint8Array,
      test: { x: tx, labels: test.labels },
      makeModel,
      train: {
        optimizer: { kind: 'momentum', momentum: 0.9 },
        learningRate: env('MISLABEL_LR_SPAM', 0.05),
        batchSize: 64,
        seed: 8,
      },
      epochs,
      projector: { kind: 'kronecker', k1: 16, k2: 16, seed: 12 },
      // EK-FAC needs dense layer inputs: the Embedding's are one-hot.
      ekfacLayers: { names: ['hidden', 'logits'] },
      methods: methodsFromEnv(),
      log,
      onScores: dumper('spam', ds.labels, ds.flipped as Uint8Array),
    };
    const trained = await trainMislabelModel(base);
    const report = await mislabelBenchmark(base, trained);
    let kept = new Map<string, Float64Array>();
    if (!process.env.MISLABEL_METHODS) {
      kept = await lastLayerPass(report, base, trained, 'spamLast', ds);
    }
    trained.model.dispose();
    const out = withBaseline(report, baseline);
    await outOfFoldBeside(out, base, kept);
    return out;
  } finally {
    tf.dispose([x, tx]);
  }
}

const CSV_FILES = ['breast_cancer.csv', 'wine_data.csv', 'iris.csv', 'digits.csv.gz'];

/** One of scikit-learn's classification CSVs (standardized), an MLP d-64-32-classes. */
async function sklearnCsv(file: string, seed: number): Promise<BenchReport> {
  const { dataset: full } = importCsv(join(sklearnDataDir(), file), {
    name: file.replace(/\..*$/, ''),
    standardize: true,
  });
  const ds = flipLabels(full, NOISE, seed);
  const d = ds.shape[0];
  const k = ds.classes.length;
  log(`${ds.name}: ${ds.rows} examples × ${d} features, ${k} classes, ${NOISE * 100}% flipped`);
  const batchSize = 32;
  const epochs = env('MISLABEL_EPOCHS_CSV', 30);
  const baseline = cleanlabBeside(ds.name, ds, ds.x as Float32Array, d, {
    hidden: [64, 32],
    epochs,
  });
  const x = tf.tensor2d(ds.x as Float32Array, [ds.rows, d]);
  const base: MislabelBenchmarkInput = {
    dataset: ds.name,
    x,
    labels: ds.labels,
    flipped: ds.flipped as Uint8Array,
    makeModel: () =>
      tfl.sequential({
        name: `${ds.name}-mlp`,
        layers: [
          tfl.layers.dense({
            name: 'h1',
            inputShape: [d],
            units: 64,
            activation: 'relu',
            kernelInitializer: glorot(21),
          }),
          tfl.layers.dense({
            name: 'h2',
            units: 32,
            activation: 'relu',
            kernelInitializer: glorot(22),
          }),
          tfl.layers.dense({ name: 'logits', units: k, kernelInitializer: glorot(23) }),
        ],
      }),
    train: {
      optimizer: { kind: 'momentum', momentum: 0.9 },
      learningRate: env('MISLABEL_LR_CSV', 0.05),
      batchSize,
      seed: 9,
    },
    epochs,
    checkpointEvery: Math.max(1, Math.round(epochs / 10)) * Math.ceil(ds.rows / batchSize),
    projector: { kind: 'kronecker', k1: 16, k2: 16, seed: 13 },
    methods: methodsFromEnv() ?? FMNIST_ALL_LAYER_METHODS,
    log,
    onScores: dumper(ds.name, ds.labels, ds.flipped as Uint8Array),
  };
  const trained = await trainMislabelModel(base);
  try {
    const report = await mislabelBenchmark(base, trained);
    let kept = new Map<string, Float64Array>();
    if (!process.env.MISLABEL_METHODS) {
      kept = await lastLayerPass(report, base, trained, `${ds.name}Last`, ds);
    }
    const out = withBaseline(report, baseline);
    await outOfFoldBeside(out, base, kept);
    return out;
  } finally {
    trained.model.dispose();
    x.dispose();
  }
}

async function main() {
  log(`backend: ${await initBackend('wasm')}`);
  const reports: object[] = [];
  if (!process.env.MISLABEL_SKIP_HEADS) {
    reports.push(...mislabelHeads(log, env('MISLABEL_EPOCHS_HEADS', 40)));
  }
  if (!process.env.MISLABEL_SKIP_CSV) {
    const files = process.env.MISLABEL_CSV?.split(',') ?? CSV_FILES;
    for (const [i, f] of files.entries()) reports.push(await sklearnCsv(f, 44 + i));
  }
  if (!process.env.MISLABEL_SKIP_SPAM) reports.push(await spamAssassin());
  if (!process.env.MISLABEL_SKIP_FMNIST) reports.push(await fashionMnist());
  for (const r of reports) console.log(JSON.stringify(r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
