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
import type { FactorScratch } from './layers/handler';
import { checkProjector } from './projectorSpec';
import { projectBlocks, projectedLayout } from './projectors';
import type { FactorBlock, FeaturizeSpec, TestFunction } from './types';

export interface FeaturizeOptions {
  /** Called after each batch (e.g. to heartbeat a Temporal activity). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Where the n rows go, asked once the first batch gives the row width (`dim` values and
   * `layers` squared norms per row): views of a caller's larger arrays, e.g. one checkpoint of a
   * whole shard computed chunk by chunk, or one chunk's arrays used again for the next. Every
   * value is written, so they need no clearing. Default: fresh arrays.
   */
  output?: (dim: number, layers: number) => FeatureRows;
  /**
   * Arrays the layer handlers write a batch's blocks into (factorScratch), for a caller that
   * featurizes one range after another and never two at once (a shard's chunks): each call
   * made its own, 10 MB per bench:main shard of short-lived ArrayBuffers. Default: the call's.
   */
  scratch?: FactorScratch;
}

/**
 * Arrays by name, each grown to the longest asked for and then reused: a batch's blocks are
 * written into the output before the next batch is computed, so one set serves every batch.
 */
export function factorScratch(): FactorScratch {
  const arrays = new Map<string, Float32Array>();
  return (name, length) => {
    let a = arrays.get(name);
    if (!a || a.length < length) arrays.set(name, (a = new Float32Array(length)));
    return a.subarray(0, length);
  };
}

/** The per-row arrays of n examples' features (n rows each). */
export interface FeatureRows {
  data: Float32Array;
  loss: Float32Array;
  sqNorm: Float64Array;
  layerSqNorm: Float64Array;
}

/** Rows [start, start + n) of `rows` (views, no copy). */
export function featureRowsView(
  rows: FeatureRows,
  start: number,
  n: number,
  dim: number,
  layers: number,
): FeatureRows {
  return {
    data: rows.data.subarray(start * dim, (start + n) * dim),
    loss: rows.loss.subarray(start, start + n),
    sqNorm: rows.sqNorm.subarray(start, start + n),
    layerSqNorm: rows.layerSqNorm.subarray(start * layers, (start + n) * layers),
  };
}

/** Whether `rows` holds exactly n rows of `dim` values and `layers` squared norms. */
export function featureRowsFit(rows: FeatureRows, n: number, dim: number, layers: number): boolean {
  return (
    rows.data.length === n * dim &&
    rows.loss.length === n &&
    rows.sqNorm.length === n &&
    rows.layerSqNorm.length === n * layers
  );
}

/** Fresh arrays for n rows of `dim` values and `layers` squared norms. */
export function featureRows(n: number, dim: number, layers: number): FeatureRows {
  return {
    data: new Float32Array(n * dim),
    loss: new Float32Array(n),
    sqNorm: new Float64Array(n),
    layerSqNorm: new Float64Array(n * layers),
  };
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
  /** The caller has checked every input value is finite (a validated data set's rows). */
  finite?: boolean;
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
  scratch?: FactorScratch,
): Generator<{ factors: BatchFactors; start: number; end: number }> {
  if (!(batchSize > 0)) throw new Error(`batch size must be positive, got ${batchSize}`);
  const fn = testFunction ?? { kind: 'loss' };
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const { xs, targets, finite } = input(start, end);
    try {
      if (targets) checkTargets(plan.head, targets, end - start);
      if (fn.kind === 'loss' && !targets) throw new Error("test function 'loss' needs labels");
      yield { factors: computeFactors(plan, xs, targets, fn, scratch, finite), start, end };
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
  let out: FeatureRows | null = null;
  let dim = 0;
  let layers: ExampleFeatures['grads']['layers'] = [];
  const scratch = options.scratch ?? factorScratch();
  const steps = factorBatches(plan, n, input, spec.testFunction, spec.batchSize ?? 256, scratch);
  for (const { factors, start, end } of steps) {
    const { blocks, values } = factors;
    const L = blocks.length;
    if (!out) {
      ({ dim, layers } = projectedLayout(blocks, spec.projector));
      out = options.output ? options.output(dim, L) : featureRows(n, dim, L);
      checkRows(out, n, dim, L);
    }
    const { sqNorms } = projectBlocks(blocks, spec.projector, out.data.subarray(start * dim));
    out.loss.set(values, start);
    const norms = blocks.map((b, l) => sqNorms[l] ?? blockSqNorms(b));
    for (let i = 0; i < end - start; i++) {
      // Summed over the blocks in order from 0, as accumulating into a cleared array would.
      let total = 0;
      for (let l = 0; l < L; l++) {
        out.layerSqNorm[(start + i) * L + l] = norms[l][i];
        total += norms[l][i];
      }
      out.sqNorm[start + i] = total;
    }
    options.onProgress?.(end, n);
    yield;
  }
  const rows = out ?? featureRows(n, 0, 0);
  return {
    grads: { rows: n, dim, data: rows.data, layers },
    loss: rows.loss,
    sqNorm: rows.sqNorm,
    layerSqNorm: rows.layerSqNorm,
  };
}

/** A caller's output arrays must hold exactly n rows (a view too long would hide a wrong size). */
function checkRows(out: FeatureRows, n: number, dim: number, L: number): void {
  if (!featureRowsFit(out, n, dim, L)) {
    const want = [n * dim, n, n, n * L];
    const got = [out.data.length, out.loss.length, out.sqNorm.length, out.layerSqNorm.length];
    throw new Error(
      `featurize output arrays hold [${got}] values; ${n} rows of ${dim} (${L} layers) need [${want}]`,
    );
  }
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
