/**
 * The gradient engine's entry point: a model and an example set in, per-example projected
 * gradients, test-function values and exact squared norms out (lib/features.ts contract).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ExampleFeatures } from '../features';
import { blockSqNorms, concatBlocks } from './blockMath';
import { type BatchFactors, computeFactors, planModel } from './factors';
import { checkTargets } from './head';
import { checkProjector } from './projectorSpec';
import { projectBlocks } from './projectors';
import type { FactorBlock, FeaturizeSpec, LayerSelection, TestFunction } from './types';

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

function batches(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: ArrayLike<number> | null,
  layers: LayerSelection | undefined,
  testFunction: TestFunction | undefined,
  batchSize: number,
  each: (f: BatchFactors, start: number) => void,
  onProgress?: (done: number, total: number) => void,
) {
  if (!(batchSize > 0)) throw new Error(`batch size must be positive, got ${batchSize}`);
  const plan = planModel(model, layers);
  const n = xs.shape[0];
  const labels = toTargets(ys, n);
  // Checked whole first so that a bad label is named by its index in the set, not the batch.
  if (labels) checkTargets(plan.head, labels, n);
  const fn = testFunction ?? { kind: 'loss' };
  if (fn.kind === 'loss' && !labels) throw new Error("test function 'loss' needs labels");
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const xb = tf.slice(xs, start, size);
    try {
      each(
        computeFactors(plan, xb, labels ? labels.subarray(start, start + size) : null, fn),
        start,
      );
    } finally {
      xb.dispose();
    }
    onProgress?.(start + size, n);
  }
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
  const n = xs.shape[0];
  const loss = new Float32Array(n);
  const sqNorm = new Float64Array(n);
  let data: Float32Array | null = null;
  let dim = 0;
  let layers: ExampleFeatures['grads']['layers'] = [];
  let layerSqNorm: Float64Array | null = null;
  batches(
    model,
    xs,
    ys,
    spec.layers,
    spec.testFunction,
    spec.batchSize ?? 256,
    ({ blocks, values }, start) => {
      const g = projectBlocks(blocks, spec.projector);
      if (!data) {
        dim = g.dim;
        layers = g.layers;
        data = new Float32Array(n * dim);
        layerSqNorm = new Float64Array(n * blocks.length);
      }
      data.set(g.data, start * dim);
      loss.set(values, start);
      const L = blocks.length;
      blocks.forEach((b, l) => {
        const s = blockSqNorms(b);
        for (let i = 0; i < b.rows; i++) {
          (layerSqNorm as Float64Array)[(start + i) * L + l] = s[i];
          sqNorm[start + i] += s[i];
        }
      });
    },
    options.onProgress,
  );
  return {
    grads: { rows: n, dim, data: data ?? new Float32Array(0), layers },
    loss,
    sqNorm,
    layerSqNorm: layerSqNorm ?? new Float64Array(0),
  };
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
  batches(model, xs, ys, spec.layers, spec.testFunction, spec.batchSize ?? 256, (f, start) => {
    parts.push(f.blocks);
    values.set(f.values, start);
  });
  return { blocks: concatBlocks(parts), values };
}
