/**
 * One fold of an out-of-fold audit (lib/audit/outOfFoldSpec): train a model from scratch on the
 * rows outside fold f, then score the fold's own rows with it. Retry-safe and resumable like the
 * further-training gold standard: every checkpoint (each `checkpointEvery` epochs) is the full
 * training state saved to the store under the fold's content address, so a retried attempt
 * resumes from the latest one without redoing its epochs, and the saved checkpoints are the
 * fold model's checkpoints the self-influence sums over. The fold's scores are committed by a
 * manifest; a committed fold is returned as it is.
 *
 * The fold trains on its rows in one process (as `tda train` does): a fold model needs every
 * training row every epoch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readColumn, readTable, writeColumns } from '../arrow/columns';
import { type Dataset, takeRows } from '../data/dataset';
import { concatDatasets, readAllParts } from '../data/partitionedDataset';
import { kFolds } from '../data/split';
import type { ExampleFeatures } from '../features';
import type { InfluenceSelfSettings } from '../methods/influence/influenceSelf';
import { buildModel } from '../model/architectures';
import { featurizeDataset, inputTensor } from '../pipeline/featurizeDataset';
import { influenceSelfPasses } from '../pipeline/influenceSelfPasses';
import { readCommitted, readManifest, Transaction } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { batchesPerEpoch } from '../train/batchOrder';
import { forwardLogits, planChain } from '../train/forward';
import { train, writeWeights } from '../train/trainer';
import {
  deserializeTrainState,
  serializeTrainState,
  type TrainConfig,
  type TrainState,
} from '../train/trainState';
import { foldSelfInfluence } from './outOfFoldSpec';
import type { AuditPlan } from './planAudit';

/** What a committed fold records (its manifest's meta). */
export interface FoldSummary {
  fold: number;
  /** Rows the fold model was trained on and rows it scored (its fold). */
  trainRows: number;
  heldoutRows: number;
  /** The fold model's accuracy on its fold's given labels, overall and per given class. */
  accuracy: number;
  perClass: { rows: number[]; correct: number[] };
  /** Steps of the fold model's checkpoints. */
  checkpoints: number[];
  /** Steps already trained by an earlier attempt when the finishing attempt started. */
  resumedFrom: number;
}

/** A fold's scores for its own rows (global row indices, batches in audit order). */
export interface FoldScores {
  row: Int32Array;
  selfConfidence: Float64Array;
  /** 1 − p(given label) averaged over the fold model's checkpoints. */
  selfConfidenceCheckpoints: Float64Array;
  selfInfluence: Float64Array;
  predicted: Int32Array;
}

/** Where fold `fold`'s model saves its training states. */
export const foldPrefix = (plan: AuditPlan, fold: number): string => {
  if (!plan.outOfFold) throw new Error(`audit ${plan.prefix} has no out-of-fold option`);
  return `${plan.outOfFold.prefix}/fold-${fold}`;
};

/** Where fold `fold`'s scores are committed (under the plan's scoring settings). */
export const foldScoresPrefix = (plan: AuditPlan, fold: number): string => {
  if (!plan.outOfFold) throw new Error(`audit ${plan.prefix} has no out-of-fold option`);
  // Plans written before the scores had a folder of their own name none: plan such an audit again.
  if (!plan.outOfFold.scores) {
    throw new Error(`audit ${plan.prefix} was planned by an older version: run it again`);
  }
  return `${plan.outOfFold.scores}/fold-${fold}`;
};

const stateKey = (prefix: string, step: number) =>
  `${prefix}/checkpoints/step-${String(step).padStart(9, '0')}.state`;

export interface FoldHooks {
  /** After every training step (to heartbeat). */
  onStep?: (step: number, totalSteps: number) => void;
  /**
   * While the held-out rows are scored: after each checkpoint's features, each chunk of rows of
   * the curvature and the scores, and each pass.
   */
  onScoring?: () => void;
}

async function auditRows(store: ObjectStore, plan: AuditPlan): Promise<Dataset> {
  const parts: Dataset[] = [];
  for (const b of plan.batches) parts.push(await readAllParts(store, b.prefix));
  const ds = concatDatasets(parts);
  if (ds.rows !== plan.rows) {
    throw new Error(
      `audit ${plan.prefix}: the batches hold ${ds.rows} rows, the plan ${plan.rows}`,
    );
  }
  return ds;
}

export async function trainFold(
  store: ObjectStore,
  plan: AuditPlan,
  fold: number,
  hooks: FoldHooks = {},
): Promise<FoldSummary> {
  const oof = plan.spec.outOfFold;
  if (!oof) throw new Error(`audit ${plan.prefix} has no out-of-fold option`);
  if (!Number.isInteger(fold) || fold < 0 || fold >= oof.folds) {
    throw new Error(`fold ${fold} outside [0, ${oof.folds})`);
  }
  const prefix = foldPrefix(plan, fold);
  const scoresPrefix = foldScoresPrefix(plan, fold);
  const done = await readManifest<FoldSummary>(store, scoresPrefix);
  if (done) return done.meta;

  const ds = await auditRows(store, plan);
  const assign = kFolds(ds.rows, oof.folds, oof.seed);
  const fitRows: number[] = [];
  const heldRows: number[] = [];
  for (let i = 0; i < ds.rows; i++) (assign[i] === fold ? heldRows : fitRows).push(i);
  const fit = takeRows(ds, fitRows);
  const held = takeRows(ds, heldRows);
  const model = buildModel(
    oof.architecture,
    { shape: ds.shape, classes: ds.classes.length, vocabSize: ds.vocabSize },
    oof.seed,
  );
  const config: TrainConfig = {
    optimizer: oof.optimizer,
    learningRate: oof.learningRate,
    batchSize: oof.batchSize,
    seed: oof.seed + fold,
  };
  const perEpoch = batchesPerEpoch(fit.rows, oof.batchSize);
  const steps = perEpoch * oof.epochs;
  const x = inputTensor(model, fit, 0, fit.rows);
  try {
    // The latest saved state is where a retried attempt resumes.
    const saved = (await store.list(`${prefix}/checkpoints/`)).filter((k) => k.endsWith('.state'));
    saved.sort();
    const from: TrainState | undefined = saved.length
      ? deserializeTrainState(await store.get(saved[saved.length - 1]))
      : undefined;
    await train(
      model,
      { x, labels: fit.labels },
      config,
      steps,
      {
        onStep: ({ step }) => hooks.onStep?.(step, steps),
        checkpointEvery: perEpoch * oof.checkpointEvery,
        onCheckpoint: (state) =>
          store.put(stateKey(prefix, state.step), serializeTrainState(state)),
      },
      from,
    );
    const states = (await store.list(`${prefix}/checkpoints/`)).filter((k) => k.endsWith('.state'));
    states.sort();
    const scores = await scoreFold(store, model, held, states, oof.learningRate, {
      projector: plan.spec.projector,
      selfInfluence: foldSelfInfluence(plan.spec.selfScore, oof),
      batchSize: plan.spec.batchSize,
      onScoring: hooks.onScoring,
    });
    scores.row = Int32Array.from(heldRows);
    const k = ds.classes.length;
    const perClass = { rows: new Array(k).fill(0), correct: new Array(k).fill(0) };
    for (let j = 0; j < held.rows; j++) {
      perClass.rows[held.labels[j]]++;
      if (scores.predicted[j] === held.labels[j]) perClass.correct[held.labels[j]]++;
    }
    const correct = perClass.correct.reduce((a, b) => a + b, 0);
    const summary: FoldSummary = {
      fold,
      trainRows: fit.rows,
      heldoutRows: held.rows,
      accuracy: held.rows > 0 ? correct / held.rows : 0,
      perClass,
      checkpoints: states.map((s) => Number(s.slice(s.lastIndexOf('step-') + 5, -6))),
      resumedFrom: from?.step ?? 0,
    };
    const tx = new Transaction(store, scoresPrefix);
    await tx.put(
      'scores.arrow',
      writeColumns(held.rows, {
        row: { values: scores.row },
        self_confidence: { values: scores.selfConfidence },
        self_confidence_checkpoints: { values: scores.selfConfidenceCheckpoints },
        self_influence: { values: scores.selfInfluence },
        predicted: { values: scores.predicted },
      }),
    );
    return (await tx.commit(summary)).meta;
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** The held-out rows' scores from the fold model's saved checkpoints (the last one is final). */
async function scoreFold(
  store: ObjectStore,
  model: ReturnType<typeof buildModel>,
  held: Dataset,
  states: string[],
  learningRate: number,
  opts: {
    projector: AuditPlan['spec']['projector'];
    selfInfluence: InfluenceSelfSettings;
    batchSize: number;
    onScoring?: FoldHooks['onScoring'];
  },
): Promise<FoldScores> {
  const beat = opts.onScoring ?? (() => {});
  const feats: ExampleFeatures[] = [];
  for (const key of states) {
    writeWeights(model, deserializeTrainState(await store.get(key)).weights);
    feats.push(
      featurizeDataset(model, held, 0, held.rows, {
        layers: 'last',
        projector: opts.projector,
        batchSize: opts.batchSize,
      }),
    );
    beat();
  }
  // The held-out rows as the one part of the pipeline's two passes: each checkpoint's curvature,
  // then the scores, by the backend a chunk of rows at a time with a heartbeat after each. (A
  // float64 Gram of exact 129 → 10 factors in one synchronous call outlasted the heartbeat
  // timeout.)
  const settings = opts.selfInfluence;
  const [selfInfluence] = await influenceSelfPasses({
    parts: 1,
    checkpoints: feats.map((_, c) => ({ step: c, learningRate })),
    read: async (_, c) => feats[c],
    curvature: { relativeDamping: settings.relativeDamping },
    curvatureKind: settings.curvature,
    sketch: settings.sketch,
    onPart: beat,
    onProgress: beat,
  });
  const last = feats[feats.length - 1];
  // 1 − e^{−loss} = 1 − p(given label), without rounding small losses to 0.
  const selfConfidence = Float64Array.from(last.loss, (l) => -Math.expm1(-l));
  const selfConfidenceCheckpoints = new Float64Array(held.rows);
  for (const f of feats) {
    for (let j = 0; j < held.rows; j++) selfConfidenceCheckpoints[j] -= Math.expm1(-f.loss[j]);
  }
  for (let j = 0; j < held.rows; j++) selfConfidenceCheckpoints[j] /= feats.length;
  // The model holds the last checkpoint's weights.
  const hx = inputTensor(model, held, 0, held.rows);
  const argMax = tf.tidy(() => tf.argMax(forwardLogits(planChain(model), hx), 1));
  const predicted = argMax.dataSync();
  tf.dispose([argMax, hx]);
  return {
    row: new Int32Array(0),
    selfConfidence,
    selfConfidenceCheckpoints,
    selfInfluence,
    predicted: Int32Array.from(predicted),
  };
}

/** A committed fold's scores. */
export async function readFoldScores(
  store: ObjectStore,
  plan: AuditPlan,
  fold: number,
): Promise<{ summary: FoldSummary; scores: FoldScores }> {
  const prefix = foldScoresPrefix(plan, fold);
  const m = await readManifest<FoldSummary>(store, prefix);
  if (!m) throw new Error(`fold ${fold} of audit ${plan.prefix} is not committed under ${prefix}`);
  const what = `${prefix}/scores.arrow`;
  const table = readTable(await readCommitted(store, prefix, 'scores.arrow'), what);
  return {
    summary: m.meta,
    scores: {
      row: readColumn<Int32Array>(table, 'row', 'int32', what).values,
      selfConfidence: readColumn<Float64Array>(table, 'self_confidence', 'float64', what).values,
      selfConfidenceCheckpoints: readColumn<Float64Array>(
        table,
        'self_confidence_checkpoints',
        'float64',
        what,
      ).values,
      selfInfluence: readColumn<Float64Array>(table, 'self_influence', 'float64', what).values,
      predicted: readColumn<Int32Array>(table, 'predicted', 'int32', what).values,
    },
  };
}
