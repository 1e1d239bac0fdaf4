import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type Dataset, exampleSize } from '../data/dataset';
import { checkLabels } from '../train/loss';
import { checkOptimizerConfig } from '../train/optimizer';
import type { TestFunction } from '../train/testFunction';
import { numClassesOf } from '../train/trainer';
import type { TrainConfig } from '../train/trainState';
import type { PerturbationMode } from './runPlan';

/**
 * Checks everything a further-training job is given before any run starts, so bad input fails
 * once with a message naming the problem instead of in every run (or after hours of training).
 */

/** A test function in JSON form (a job's input travels as JSON). */
export type TestFunctionInput =
  | { kind: 'loss' }
  | { kind: 'logit' | 'probability'; classes: number | number[] };

export interface GoldJobSettings {
  training: Omit<TrainConfig, 'seed'>;
  steps: number[];
  testFunction?: TestFunctionInput;
  checkpointEvery?: number;
}

export function toTestFunction(f: TestFunctionInput | undefined): TestFunction {
  if (!f || f.kind === 'loss') return { kind: 'loss' };
  if (f.kind !== 'logit' && f.kind !== 'probability') {
    throw new Error(`unknown test function kind "${(f as { kind: string }).kind}"`);
  }
  return {
    kind: f.kind,
    classes: typeof f.classes === 'number' ? f.classes : Int32Array.from(f.classes),
  };
}

/** The model's per-example input shape, which every dataset row must fill exactly. */
function inputShape(model: LayersModel): number[] {
  const shape = model.inputs[0].shape.slice(1);
  if (shape.some((d) => typeof d !== 'number')) {
    throw new Error(`the model's input shape [${shape}] has unknown dimensions`);
  }
  return shape as number[];
}

/** A dataset's features as one tensor shaped for the model's input. */
export function datasetTensor(model: LayersModel, ds: Dataset, what: string): tf.Tensor {
  const shape = inputShape(model);
  const width = exampleSize(ds.shape);
  if (exampleSize(shape) !== width) {
    throw new Error(
      `${what} has ${width} values per example (shape [${ds.shape}]) but the model's input shape [${shape}] needs ${exampleSize(shape)}`,
    );
  }
  if (ds.x) return tf.tensor(ds.x, [ds.rows, ...shape], 'float32');
  if (ds.tokens) return tf.tensor(ds.tokens, [ds.rows, ...shape], 'int32');
  throw new Error(`${what} has neither features x nor tokens`);
}

export function checkGoldInputs(
  model: LayersModel,
  train: Dataset,
  queries: Dataset,
  settings: GoldJobSettings,
  plan: { examples?: number[]; seeds: number[]; mode: PerturbationMode },
): void {
  const k = numClassesOf(model);
  const shape = inputShape(model);
  for (const [ds, what] of [
    [train, 'training data'],
    [queries, 'query data'],
  ] as const) {
    if (exampleSize(ds.shape) !== exampleSize(shape)) {
      throw new Error(
        `shape mismatch: ${what} has ${exampleSize(ds.shape)} values per example (shape [${ds.shape}]) but the model's input shape [${shape}] needs ${exampleSize(shape)}`,
      );
    }
  }
  if (train.rows === 0) throw new Error('training data has no rows');
  if (queries.rows === 0) throw new Error('query data has no rows');
  checkLabels(train.labels, k, `training labels (the model has ${k} classes)`);
  const t = settings.training;
  if (!t || typeof t !== 'object') throw new Error('training settings are missing');
  checkOptimizerConfig(t.optimizer);
  if (!(Number.isFinite(t.learningRate) && t.learningRate >= 0)) {
    throw new Error(`learningRate must be a finite number ≥ 0, got ${t.learningRate}`);
  }
  if (!Number.isInteger(t.batchSize) || t.batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${t.batchSize}`);
  }
  if (t.normalize !== undefined && t.normalize !== 'batchSize' && t.normalize !== 'weightSum') {
    throw new Error(`normalize must be 'batchSize' or 'weightSum', got "${t.normalize}"`);
  }
  if (!Array.isArray(settings.steps) || settings.steps.length === 0) {
    throw new Error('further training needs at least one step count T');
  }
  for (const s of settings.steps) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`step counts T must be integers ≥ 0: ${s}`);
  }
  const every = settings.checkpointEvery ?? 0;
  if (!Number.isInteger(every) || every < 0) {
    throw new Error(`checkpointEvery must be a non-negative integer, got ${every}`);
  }
  const fn = toTestFunction(settings.testFunction);
  if (fn.kind === 'loss') {
    checkLabels(queries.labels, k, `query labels (the 'loss' test function, ${k} classes)`);
  } else if (typeof fn.classes !== 'number' && fn.classes.length !== queries.rows) {
    throw new Error(
      `test function classes has ${fn.classes.length} entries for ${queries.rows} queries`,
    );
  } else {
    checkLabels(
      typeof fn.classes === 'number' ? [fn.classes] : fn.classes,
      k,
      'test function classes',
    );
  }
  if (!Array.isArray(plan.seeds) || plan.seeds.length === 0) {
    throw new Error('the gold standard needs at least one seed');
  }
  if (new Set(plan.seeds).size !== plan.seeds.length) throw new Error('seeds must be distinct');
  for (const s of plan.seeds) {
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new Error(`seeds must be non-negative safe integers, got ${s}`);
    }
  }
  if (plan.examples) {
    if (plan.examples.length === 0) throw new Error('examples is empty');
    if (new Set(plan.examples).size !== plan.examples.length) {
      throw new Error('examples must be distinct');
    }
    for (const i of plan.examples) {
      if (!Number.isInteger(i) || i < 0 || i >= train.rows) {
        throw new Error(`example index ${i} is out of range for ${train.rows} training examples`);
      }
    }
  }
  const mode = plan.mode;
  if (mode.kind === 'upweight') {
    if (!Number.isFinite(mode.epsilon) || mode.epsilon === 0) {
      throw new Error(`upweighting needs a finite, non-zero epsilon, got ${mode.epsilon}`);
    }
  } else if (mode.kind !== 'remove') {
    throw new Error(
      `perturbation mode must be remove or upweight, got "${(mode as { kind: string }).kind}"`,
    );
  }
}
