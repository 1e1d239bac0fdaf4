/**
 * The gradient engine's entry point: a model and an example set in, per-example projected
 * gradients, test-function values and exact squared norms out (lib/features.ts contract).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ExampleFeatures } from '../features';
import { blockSqNorms, concatBlocks } from './blockMath';
import { type BatchFactors, computeFactors, type ModelPlan, planModel } from './factors';
import { checkTargets } from './head';
import { checkProjector } from './projectorSpec';
import { projectBlocks, projectedLayout } from './projectors';
import type { FactorBlock, FeaturizeSpec, TestFunction } from './types';

export interface FeaturizeOptions {
  /** Called after each batch (e.g. to heartbeat a Temporal activity). */
  onProgress?: (done: number, total: number) => void;
}

/** Targets as numbers (labels or regression values); planModel's head checks them per batch. */
function toTargets(ys: ArrayLike<number> | null, n: number): Float64Array | null {
  if (!ys) return null;
  if (ys.length !== n) throw new Error(`${ys.length} labels for ${n} examples`);
  return Float64Array.from(ys);
}

/** One batch's input tensor (disposed after use) and targets (null: unlabeled). */
export interface BatchInput {
  xs: tf.Tensor;
  targets: ArrayLike<number> | null;
}

/**
 * Each batch's factors in turn, as the plan computes them: `input(start, end)` gives rows
 * [start, end) of the n examples. A generator, so that a caller may yield to its event loop
 * between batches.
 */
function* factorBatches(
  plan: ModelPlan,
  n: number,
  input: (start: number, end: number) => BatchInput,
  testFunction: TestFunction | undefined,
  batchSize: number,
): Generator<{ factors: BatchFactors; start: number; end: number }> {
  if (!(batchSize > 0)) throw new Error(`batch size must be positive, got ${batchSize}`);
  const fn = testFunction ?? { kind: 'loss' };
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const { xs, targets } = input(start, end);
    try {
      if (targets) checkTargets(plan.head, targets, end - start);
      if (fn.kind === 'loss' && !targets) throw new Error("test function 'loss' needs labels");
      yield { factors: computeFactors(plan, xs, targets, fn), start, end };
    } finally {
      xs.dispose();
    }
  }
}

/**
 * Per-example features of n examples batch by batch (see factorBatches), each batch's projected
 * rows written straight into one output: no per-batch arrays to join, which in a worker meant
 * hundreds of megabytes of short-lived arrays per shard and V8 full collections to match.
 * Yields after each batch; runFeaturize runs it through.
 */
export function* featurizeBatches(
  plan: ModelPlan,
  n: number,
  input: (start: number, end: number) => BatchInput,
  spec: FeaturizeSpec,
  options: FeaturizeOptions = {},
): Generator<void, ExampleFeatures> {
  checkProjector(spec.projector);
  const loss = new Float32Array(n);
  const sqNorm = new Float64Array(n);
  let data: Float32Array | null = null;
  let dim = 0;
  let layers: ExampleFeatures['grads']['layers'] = [];
  let layerSqNorm: Float64Array | null = null;
  const steps = factorBatches(plan, n, input, spec.testFunction, spec.batchSize ?? 256);
  for (const { factors, start, end } of steps) {
    const { blocks, values } = factors;
    if (!data) {
      ({ dim, layers } = projectedLayout(blocks, spec.projector));
      data = new Float32Array(n * dim);
      layerSqNorm = new Float64Array(n * blocks.length);
    }
    projectBlocks(blocks, spec.projector, data.subarray(start * dim));
    loss.set(values, start);
    const L = blocks.length;
    blocks.forEach((b, l) => {
      const s = blockSqNorms(b);
      for (let i = 0; i < b.rows; i++) {
        (layerSqNorm as Float64Array)[(start + i) * L + l] = s[i];
        sqNorm[start + i] += s[i];
      }
    });
    options.onProgress?.(end, n);
    yield;
  }
  return {
    grads: { rows: n, dim, data: data ?? new Float32Array(0), layers },
    loss,
    sqNorm,
    layerSqNorm: layerSqNorm ?? new Float64Array(0),
  };
}

/** Runs a featurizeBatches generator to its end, without yielding. */
export function runFeaturize(steps: Generator<void, ExampleFeatures>): ExampleFeatures {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Batches of a whole input tensor and its targets (checked whole first, so that a bad label is
 * named by its index in the set, not the batch). */
function sliceInput(
  plan: ModelPlan,
  xs: tf.Tensor,
  ys: ArrayLike<number> | null,
): (start: number, end: number) => BatchInput {
  const n = xs.shape[0];
  const labels = toTargets(ys, n);
  if (labels) checkTargets(plan.head, labels, n);
  return (start, end) => ({
    xs: tf.slice(xs, start, end - start),
    targets: labels ? labels.subarray(start, end) : null,
  });
}

/**
 * Per-example features of xs (labels ys; null for unlabeled queries with a logit/probability
 * test function) under spec, processed in batches of spec.batchSize.
 */
export function featurize(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: ArrayLike<number> | null,
  spec: FeaturizeSpec,
  options: FeaturizeOptions = {},
): ExampleFeatures {
  checkProjector(spec.projector);
  const plan = planModel(model, spec.layers);
  const input = sliceInput(plan, xs, ys);
  return runFeaturize(featurizeBatches(plan, xs.shape[0], input, spec, options));
}

/**
 * The factors themselves for a whole example set (for exact dot products with projector 'none'
 * via exactDots), and the per-example test-function values.
 */
export function featurizeFactors(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: ArrayLike<number> | null,
  spec: Omit<FeaturizeSpec, 'projector'>,
): { blocks: FactorBlock[]; values: Float32Array } {
  const parts: FactorBlock[][] = [];
  const values = new Float32Array(xs.shape[0]);
  const plan = planModel(model, spec.layers);
  const input = sliceInput(plan, xs, ys);
  const steps = factorBatches(plan, xs.shape[0], input, spec.testFunction, spec.batchSize ?? 256);
  for (const { factors, start } of steps) {
    parts.push(factors.blocks);
    values.set(factors.values, start);
  }
  return { blocks: concatBlocks(parts), values };
}
