import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { readAllParts } from '../data/partitionedDataset';
import { splitDataset } from '../data/split';
import { type Architecture, buildModel } from '../model/architectures';
import {
  type Checkpoint,
  type CheckpointManifest,
  readCheckpointManifest,
  saveCheckpoint,
} from '../model/checkpoints';
import { inputTensor } from '../pipeline/featurizeDataset';
import type { ObjectStore } from '../store/objectStore';
import { batchesPerEpoch } from '../train/batchOrder';
import { evaluateModel } from '../train/evaluateModel';
import { readWeights, resume, train, writeWeights } from '../train/trainer';
import type { NamedArray, TrainConfig, TrainState } from '../train/trainState';

export interface TrainJob {
  /** Partitioned training set prefix. */
  data: string;
  /** Where the checkpoint manifest goes; checkpoints are saved beside it. */
  checkpoints: string;
  name: string;
  architecture: Architecture;
  config: TrainConfig;
  /** Epochs to train (the most, with earlyStop). */
  epochs: number;
  /** Save a checkpoint every this many steps (default: every epoch) and after the last one. */
  checkpointEvery?: number;
  /**
   * A held-out set each checkpoint is measured on: a fraction of `data` (those rows, drawn with
   * the training seed, are not trained on) or the prefix of another partitioned data set.
   */
  validation?: number | string;
  /**
   * Stop when the validation loss has not improved for this many checkpoints, and keep the
   * checkpoints up to the best one: spread over the part of training that helped.
   */
  earlyStop?: number;
}

/**
 * Trains a model on a partitioned data set and saves its checkpoints (LayersModel format, with
 * the learning rate each stands for and its training and validation loss and accuracy) under a
 * manifest. A manifest already there is reused.
 */
export async function trainJob(
  store: ObjectStore,
  job: TrainJob,
  log: (msg: string) => void = () => {},
): Promise<CheckpointManifest> {
  if (await store.exists(job.checkpoints)) {
    log(`checkpoints already at ${job.checkpoints}: reusing them`);
    return readCheckpointManifest(store, job.checkpoints);
  }
  if (!Number.isInteger(job.epochs) || job.epochs < 1) {
    throw new Error(`epochs must be a positive integer, got ${job.epochs}`);
  }
  if (job.earlyStop !== undefined) {
    if (job.validation === undefined) throw new Error('early stopping needs a validation set');
    if (!Number.isInteger(job.earlyStop) || job.earlyStop < 1) {
      throw new Error(`early-stop patience must be a positive integer, got ${job.earlyStop}`);
    }
  }
  const { trainSet, validationSet } = await datasets(store, job);
  const model: tfl.LayersModel = buildModel(job.architecture, {
    shape: trainSet.shape,
    classes: trainSet.classes.length,
    vocabSize: trainSet.vocabSize,
  });
  const x = inputTensor(model, trainSet, 0, trainSet.rows);
  try {
    const data = { x, labels: trainSet.labels };
    const perEpoch = batchesPerEpoch(trainSet.rows, job.config.batchSize);
    const total = perEpoch * job.epochs;
    const every = job.checkpointEvery ?? perEpoch;
    if (!Number.isInteger(every) || every < 1) {
      throw new Error(`checkpointEvery must be a positive integer, got ${every}`);
    }
    const t0 = performance.now();
    let lastLog = 0;
    const hooks = {
      onStep: ({ step, loss }: { step: number; loss: number }) => {
        if (performance.now() - lastLog > 2000 || step === total) {
          lastLog = performance.now();
          log(
            `step ${step}/${total} loss ${loss.toFixed(4)} (${((lastLog - t0) / 1000).toFixed(1)} s)`,
          );
        }
      },
    };
    // Trained one checkpoint interval at a time (a resumed run is the same run, bit for bit), so
    // each checkpoint is measured when it is reached and training can stop early.
    const saved: { step: number; weights: NamedArray[]; metrics: Checkpoint['metrics'] }[] = [];
    let state: TrainState | undefined;
    let best = -1;
    for (let step = Math.min(every, total); ; step = Math.min(step + every, total)) {
      state = state
        ? await resume(model, data, state, step, hooks)
        : await train(model, data, job.config, step, hooks);
      const metrics = {
        train: evaluateModel(model, trainSet),
        ...(validationSet ? { validation: evaluateModel(model, validationSet) } : {}),
      };
      saved.push({ step, weights: readWeights(model), metrics });
      log(`checkpoint at step ${step}: ${describeFit(metrics)}`);
      const v = metrics.validation?.loss;
      if (best < 0 || (v !== undefined && v < (saved[best].metrics?.validation?.loss ?? v))) {
        best = saved.length - 1;
      }
      if (step >= total) break;
      if (job.earlyStop !== undefined && saved.length - 1 - best >= job.earlyStop) {
        log(
          `stopping early: the validation loss has not improved for ${job.earlyStop} checkpoint(s) since step ${saved[best].step}`,
        );
        break;
      }
    }
    // With early stopping, the checkpoints after the best one only overfit: they are dropped.
    const kept = job.earlyStop !== undefined ? saved.slice(0, best + 1) : saved;
    let manifest: CheckpointManifest | undefined;
    for (const cp of kept) {
      writeWeights(model, cp.weights);
      manifest = await saveCheckpoint(model, store, job.checkpoints, {
        model: job.name,
        step: cp.step,
        learningRate: job.config.learningRate,
        metrics: cp.metrics,
      });
    }
    return manifest as CheckpointManifest;
  } finally {
    x.dispose();
    model.dispose();
  }
}

async function datasets(
  store: ObjectStore,
  job: TrainJob,
): Promise<{ trainSet: Dataset; validationSet?: Dataset }> {
  const all = await readAllParts(store, job.data);
  const v = job.validation;
  if (v === undefined) return { trainSet: all };
  if (typeof v === 'number') {
    if (!(v > 0 && v < 1)) throw new Error(`validation fraction must be in (0, 1), got ${v}`);
    const split = splitDataset(all, v, job.config.seed);
    if (split.test.rows === 0 || split.train.rows === 0) {
      throw new Error(`a validation fraction of ${v} of ${all.rows} rows leaves a split empty`);
    }
    return { trainSet: split.train, validationSet: split.test };
  }
  const validationSet = await readAllParts(store, v);
  if (JSON.stringify(validationSet.shape) !== JSON.stringify(all.shape)) {
    throw new Error(
      `validation set "${v}" has examples of shape [${validationSet.shape}], the training set [${all.shape}]`,
    );
  }
  return { trainSet: all, validationSet };
}

/** `train loss 0.412 acc 0.871, validation loss 0.455 acc 0.850`. */
export function describeFit(m: Checkpoint['metrics']): string {
  if (!m) return 'no metrics';
  const one = (what: string, f: { loss: number; accuracy: number }) =>
    `${what} loss ${f.loss.toFixed(3)} acc ${f.accuracy.toFixed(3)}`;
  return [one('train', m.train), ...(m.validation ? [one('validation', m.validation)] : [])].join(
    ', ',
  );
}
