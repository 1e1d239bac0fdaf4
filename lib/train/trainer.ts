import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { batchIndices } from './batchOrder';
import { type ChainPlan, forwardLogits, planChain } from './forward';
import { checkLabels, crossEntropyPerExample } from './loss';
import {
  applyUpdate,
  checkOptimizerConfig,
  disposeOptimizerState,
  initOptimizerState,
  type OptimizerState,
} from './optimizer';
import type { NamedArray, TrainConfig, TrainState } from './trainState';

/**
 * Deterministic, resumable minibatch training with softmax cross-entropy and per-example weights.
 * The batch at step t and its dropout masks are pure functions of (seed, t), so an interrupted run
 * resumed from its saved state, and a paired run with one example's weight changed, see the same
 * batches and masks as the uninterrupted baseline.
 *
 * Over 300 lines because a step, the state it saves and the resume that reads that state back
 * must agree field by field; they are kept together so a change to one is seen in the others.
 */

export interface TrainData {
  /** All training inputs; the first dimension indexes examples. */
  x: tf.Tensor;
  labels: Int32Array;
  /** Per-example loss weights (default 1): 0 removes an example, 1+ε reweights it. */
  weights?: Float32Array;
}

export interface StepInfo {
  /** Steps completed, counting this one. */
  step: number;
  totalSteps: number;
  /** The batch loss that was minimised at this step (weighted, normalised). */
  loss: number;
}

export interface TrainHooks {
  /** Called after every step (e.g. to heartbeat). */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Step counts (steps completed) at which to call onEval; 0 means before any training. */
  evalAt?: number[];
  onEval?: (step: number, model: LayersModel) => void | Promise<void>;
  /** Call onCheckpoint every this many steps, and after the last step. */
  checkpointEvery?: number;
  onCheckpoint?: (state: TrainState) => void | Promise<void>;
  /** Carried into every captured state (updated by the caller between calls if it wishes). */
  meta?: () => Record<string, unknown> | undefined;
}

function checkConfig(c: TrainConfig): void {
  if (!(Number.isFinite(c.learningRate) && c.learningRate >= 0)) {
    throw new Error(`learningRate must be a finite number ≥ 0, got ${c.learningRate}`);
  }
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${c.batchSize}`);
  }
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) {
    throw new Error(`seed must be a non-negative safe integer, got ${c.seed}`);
  }
  if (c.normalize !== undefined && c.normalize !== 'batchSize' && c.normalize !== 'weightSum') {
    throw new Error(`normalize must be 'batchSize' or 'weightSum', got "${c.normalize}"`);
  }
  checkOptimizerConfig(c.optimizer);
}

/** Number of classes the model outputs. */
export function numClassesOf(model: LayersModel): number {
  const shape = model.outputs[0].shape;
  const k = shape[shape.length - 1];
  if (typeof k !== 'number') throw new Error('model output has an unknown number of classes');
  return k;
}

function checkData(model: LayersModel, data: TrainData): number {
  const n = data.x.shape[0];
  if (data.labels.length !== n) {
    throw new Error(`labels has ${data.labels.length} entries but x has ${n} examples`);
  }
  if (data.weights) {
    if (data.weights.length !== n) {
      throw new Error(`weights has ${data.weights.length} entries but x has ${n} examples`);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(data.weights[i])) throw new Error(`weights[${i}] is not finite`);
    }
  }
  checkLabels(data.labels, numClassesOf(model));
  const bad = tf.tidy(() =>
    tf.any(tf.logicalNot(tf.isFinite(tf.cast(data.x, 'float32')))).dataSync(),
  );
  if (bad[0]) throw new Error('training inputs x contain NaN or infinite values');
  return n;
}

function trainableVariables(model: LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** All model weights as plain arrays, in model.weights order. */
export function readWeights(model: LayersModel): NamedArray[] {
  return model.weights.map((w) => {
    const t = w.read();
    return { name: w.name, shape: t.shape.slice(), data: new Float32Array(t.dataSync()) };
  });
}

/** Sets all model weights from arrays in model.weights order, checking shapes. */
export function writeWeights(model: LayersModel, weights: NamedArray[]): void {
  const ws = model.weights;
  if (weights.length !== ws.length) {
    throw new Error(`expected ${ws.length} weight arrays for this model, got ${weights.length}`);
  }
  const tensors = weights.map((a, i) => {
    const shape = ws[i].shape;
    if (shape.length !== a.shape.length || shape.some((d, k) => d !== a.shape[k])) {
      throw new Error(
        `weight ${i} ("${ws[i].name}") has shape [${shape}] but the given array has [${a.shape}]`,
      );
    }
    return tf.tensor(a.data, a.shape);
  });
  model.setWeights(tensors);
  tf.dispose(tensors);
}

function toArrays(tensors: tf.Tensor[], names: string[]): NamedArray[] {
  return tensors.map((t, i) => ({
    name: names[i],
    shape: t.shape.slice(),
    data: new Float32Array(t.dataSync()),
  }));
}

/** Snapshot of a run after `step` completed steps. */
export function captureState(
  model: LayersModel,
  config: TrainConfig,
  opt: OptimizerState,
  step: number,
  meta?: Record<string, unknown>,
): TrainState {
  const names = model.trainableWeights.map((w) => w.name);
  return {
    step,
    config,
    weights: readWeights(model),
    optimizer: {
      kind: opt.kind,
      updates: opt.updates,
      slots: Object.fromEntries(
        Object.entries(opt.slots).map(([k, list]) => [k, toArrays(list, names)]),
      ),
    },
    rng: { algorithm: 'philox4x32-10', seed: config.seed, step },
    ...(meta ? { meta } : {}),
  };
}

/** Loads a saved state into the model and rebuilds its optimizer state. */
export function restoreState(model: LayersModel, state: TrainState): OptimizerState {
  writeWeights(model, state.weights);
  const vars = trainableVariables(model);
  const slots: Record<string, tf.Tensor[]> = {};
  for (const [k, list] of Object.entries(state.optimizer.slots)) {
    if (list.length !== vars.length) {
      throw new Error(`optimizer slot "${k}" has ${list.length} arrays, model has ${vars.length}`);
    }
    slots[k] = list.map((a) => tf.tensor(a.data, a.shape));
  }
  return { kind: state.optimizer.kind, updates: state.optimizer.updates, slots };
}

/** The loss minimised at one step, and its gradients, for the given batch. */
function stepGradients(
  plan: ChainPlan,
  vars: tf.Variable[],
  x: tf.Tensor,
  labels: Int32Array,
  weights: Float32Array | undefined,
  ids: Int32Array,
  config: TrainConfig,
  step: number,
): { value: tf.Scalar; grads: tf.Tensor[] } {
  const yb = new Int32Array(ids.length);
  const wb = new Float32Array(ids.length);
  let wsum = 0;
  for (let r = 0; r < ids.length; r++) {
    yb[r] = labels[ids[r]];
    wb[r] = weights ? weights[ids[r]] : 1;
    wsum += wb[r];
  }
  const denom = config.normalize === 'weightSum' ? (wsum === 0 ? 1 : wsum) : ids.length;
  return tf.tidy(() => {
    const xb = tf.gather(x, tf.tensor1d(ids, 'int32'));
    const ybT = tf.tensor1d(yb, 'int32');
    const wbT = tf.tensor1d(wb, 'float32');
    const { value, grads } = tf.variableGrads(() => {
      const logits = forwardLogits(plan, xb, { seed: config.seed, step, exampleIds: ids });
      const ce = crossEntropyPerExample(logits, ybT);
      return tf.div(tf.sum(tf.mul(ce, wbT)), tf.scalar(denom));
    }, vars);
    return { value, grads: vars.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
  });
}

/**
 * Trains `model` in place up to `steps` completed steps. Starts from the model's current weights
 * and a fresh optimizer state, or, given `from`, from that saved state (its config must match).
 * Returns the final state.
 */
export async function train(
  model: LayersModel,
  data: TrainData,
  config: TrainConfig,
  steps: number,
  hooks: TrainHooks = {},
  from?: TrainState,
): Promise<TrainState> {
  checkConfig(config);
  if (!Number.isInteger(steps) || steps < 0) {
    throw new Error(`steps must be a non-negative integer, got ${steps}`);
  }
  if (from) checkResumable(from, config, steps);
  const plan = planChain(model);
  const n = checkData(model, data);
  const vars = trainableVariables(model);
  if (vars.length === 0) throw new Error('model has no trainable weights');
  const opt = from ? restoreState(model, from) : initOptimizerState(config.optimizer, vars);
  const start = from ? from.step : 0;
  const evalAt = new Set(hooks.evalAt ?? []);
  for (const t of evalAt) {
    if (!Number.isInteger(t) || t < 0) throw new Error(`evalAt entries must be integers ≥ 0: ${t}`);
  }
  const every = hooks.checkpointEvery ?? 0;
  if (!Number.isInteger(every) || every < 0) {
    throw new Error(`checkpointEvery must be a non-negative integer, got ${every}`);
  }
  try {
    // A fresh run evaluates at 0 before training; a resumed one already recorded its evals ≤ start.
    if (!from && evalAt.has(0) && hooks.onEval) await hooks.onEval(0, model);
    for (let step = start; step < steps; step++) {
      const ids = batchIndices(config.seed, step, n, config.batchSize);
      const { value, grads } = stepGradients(
        plan,
        vars,
        data.x,
        data.labels,
        data.weights,
        ids,
        config,
        step,
      );
      applyUpdate(config.optimizer, opt, vars, grads, config.learningRate);
      tf.dispose(grads);
      const loss = value.dataSync()[0];
      value.dispose();
      if (!Number.isFinite(loss)) {
        throw new Error(`training diverged: the batch loss is ${loss} at step ${step + 1}`);
      }
      const done = step + 1;
      if (hooks.onStep) await hooks.onStep({ step: done, totalSteps: steps, loss });
      if (evalAt.has(done) && hooks.onEval) await hooks.onEval(done, model);
      if (hooks.onCheckpoint && ((every > 0 && done % every === 0) || done === steps)) {
        await hooks.onCheckpoint(captureState(model, config, opt, done, hooks.meta?.()));
      }
    }
    return captureState(model, config, opt, Math.max(start, steps), hooks.meta?.());
  } finally {
    disposeOptimizerState(opt);
  }
}

function checkResumable(from: TrainState, config: TrainConfig, steps: number): void {
  const a = canonicalJson(from.config);
  const b = canonicalJson(config);
  if (a !== b) throw new Error(`cannot resume: saved config ${a} differs from requested ${b}`);
  if (from.rng.seed !== config.seed || from.rng.step !== from.step) {
    throw new Error('cannot resume: saved generator position does not match the saved step');
  }
  if (from.step > steps) {
    throw new Error(`cannot resume: saved state is at step ${from.step}, past the target ${steps}`);
  }
}

/** Continues a saved run up to `steps` completed steps, with the config it was saved with. */
export function resume(
  model: LayersModel,
  data: TrainData,
  state: TrainState,
  steps: number,
  hooks: TrainHooks = {},
): Promise<TrainState> {
  return train(model, data, state.config, steps, hooks, state);
}

/** JSON with sorted keys, so configs compare equal whatever order their fields were written in. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : val,
  );
}
