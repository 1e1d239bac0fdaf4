/**
 * DataInf (Kwon et al. 2024): per layer l, (H_l + λ_l I)⁻¹ ≈ (1/(n λ_l)) Σ_j (I − g_lj g_ljᵀ/(λ_l + ‖g_lj‖²)),
 * with λ_l = 0.1 · (1/(n d_l)) Σ_j ‖g_lj‖². Applied to a query this is a closed form over the
 * training set, split into passes that each run shard by shard and yield small summable results:
 *   pass 0 (dataInfDampingPartial): per-layer Σ‖g_lj‖² and n → λ_l;
 *   pass 1 (dataInfPassOne): per query Σ_j (q_l·g_lj)/(λ_l + ‖g_lj‖²) g_lj (queries × dim);
 *   finalize: u_l = (1/λ_l)(q_l − r_l), r_l = pass-one sum / n;
 *   pass 2 (scoresFromPreconditioned): s_i = Σ_l u_l · g_li.
 * Layers are GradientMatrix.layers (the whole vector as one layer when none are given).
 * Squared norms are those of the stored vectors (projected or not), for consistency with the dots.
 */
import type { ExampleFeatures, GradientMatrix, LayerSlice } from '../features';
import {
  accumulateProduct,
  accumulateWeightedRows,
  type RowMatrix,
  rowSqNorms,
  type ScoreMatrix,
} from './blockProduct';
import { vectorFeatures } from './factoredFeatures';
import { scoresFromPreconditioned } from './influence/influenceScores';
import { checkFeatures, checkSameDim } from './validate';

export interface DataInfOptions {
  /** The 0.1 in λ_l = 0.1 · mean per-coordinate squared gradient. */
  relativeDamping?: number;
}

export function layersOf(m: GradientMatrix): LayerSlice[] {
  return m.layers && m.layers.length > 0 ? m.layers : [{ name: 'all', offset: 0, size: m.dim }];
}

export interface DataInfDampingPartial {
  count: number;
  layerSqSum: number[];
  layerSizes: number[];
}

export function dataInfDampingPartial(trainIn: ExampleFeatures): DataInfDampingPartial {
  const train = vectorFeatures(trainIn);
  checkFeatures(train, 'dataInf train', { allowEmpty: true });
  const layers = layersOf(train.grads);
  return {
    count: train.grads.rows,
    layerSqSum: layers.map((l) =>
      rowSqNorms(train.grads, l.offset, l.offset + l.size).reduce((a, b) => a + b, 0),
    ),
    layerSizes: layers.map((l) => l.size),
  };
}

export function mergeDataInfDamping(
  a: DataInfDampingPartial,
  b: DataInfDampingPartial,
): DataInfDampingPartial {
  if (a.layerSizes.join() !== b.layerSizes.join())
    throw new Error('dataInf: merging partials with different layers');
  return {
    count: a.count + b.count,
    layerSqSum: a.layerSqSum.map((s, l) => s + b.layerSqSum[l]),
    layerSizes: a.layerSizes,
  };
}

/** λ_l per layer from the merged pass-0 partial. */
export function dataInfDamping(
  partial: DataInfDampingPartial,
  options: DataInfOptions = {},
): number[] {
  if (partial.count === 0) throw new Error('dataInf: empty training set');
  const rel = options.relativeDamping ?? 0.1;
  return partial.layerSqSum.map((s, l) => {
    const lambda = (rel * s) / (partial.count * partial.layerSizes[l]);
    if (!(lambda > 0))
      throw new Error(`dataInf: layer ${l} has zero gradients everywhere (λ = ${lambda})`);
    return lambda;
  });
}

export interface DataInfPassOne {
  count: number;
  queries: number;
  dim: number;
  /** queries × dim: Σ_j (q_l·g_lj)/(λ_l + ‖g_lj‖²) g_lj, not yet divided by n. */
  sum: Float64Array;
}

export function dataInfPassOne(
  trainIn: ExampleFeatures,
  queryIn: ExampleFeatures,
  lambdas: number[],
): DataInfPassOne {
  const train = vectorFeatures(trainIn);
  const query = vectorFeatures(queryIn);
  checkFeatures(train, 'dataInf train', { allowEmpty: true });
  checkFeatures(query, 'dataInf query');
  checkSameDim(train.grads, query.grads, 'dataInf');
  const layers = layersOf(train.grads);
  if (lambdas.length !== layers.length)
    throw new Error(`dataInf: ${lambdas.length} dampings for ${layers.length} layers`);
  const nq = query.grads.rows;
  const n = train.grads.rows;
  const sum = new Float64Array(nq * train.grads.dim);
  layers.forEach((l, li) => {
    const range = { colStart: l.offset, colEnd: l.offset + l.size };
    const sq = rowSqNorms(train.grads, range.colStart, range.colEnd);
    const coeff = new Float64Array(nq * n);
    accumulateProduct(query.grads, train.grads, coeff, range);
    for (let q = 0; q < nq; q++) {
      for (let j = 0; j < n; j++) coeff[q * n + j] /= lambdas[li] + sq[j];
    }
    accumulateWeightedRows({ rows: nq, dim: n, data: coeff }, train.grads, sum, range);
  });
  return { count: n, queries: nq, dim: train.grads.dim, sum };
}

export function mergeDataInfPassOne(a: DataInfPassOne, b: DataInfPassOne): DataInfPassOne {
  if (a.queries !== b.queries || a.dim !== b.dim)
    throw new Error('dataInf: merging pass-one results of different shapes');
  const sum = new Float64Array(a.sum.length);
  for (let k = 0; k < sum.length; k++) sum[k] = a.sum[k] + b.sum[k];
  return { count: a.count + b.count, queries: a.queries, dim: a.dim, sum };
}

/** u_q = Σ_l (1/λ_l)(q_l − r_l) per query: the vectors every training shard is scored against. */
export function dataInfPrecondition(
  queryIn: ExampleFeatures,
  passOne: DataInfPassOne,
  lambdas: number[],
): RowMatrix {
  const query = vectorFeatures(queryIn);
  checkFeatures(query, 'dataInf query');
  if (passOne.count === 0) throw new Error('dataInf: empty training set');
  if (passOne.queries !== query.grads.rows || passOne.dim !== query.grads.dim) {
    throw new Error('dataInf: pass-one result does not match the queries');
  }
  const layers = layersOf(query.grads);
  const d = query.grads.dim;
  const out = new Float64Array(passOne.sum.length);
  for (let q = 0; q < passOne.queries; q++) {
    layers.forEach((l, li) => {
      for (let c = l.offset; c < l.offset + l.size; c++) {
        const k = q * d + c;
        out[k] = (query.grads.data[k] - passOne.sum[k] / passOne.count) / lambdas[li];
      }
    });
  }
  return { rows: passOne.queries, dim: d, data: out };
}

/** In-process DataInf over one training set (all passes). */
export function dataInf(
  trainIn: ExampleFeatures,
  queryIn: ExampleFeatures,
  options: DataInfOptions = {},
): ScoreMatrix {
  const train = vectorFeatures(trainIn);
  const query = vectorFeatures(queryIn);
  checkFeatures(train, 'dataInf train');
  const lambdas = dataInfDamping(dataInfDampingPartial(train), options);
  const u = dataInfPrecondition(query, dataInfPassOne(train, query, lambdas), lambdas);
  return scoresFromPreconditioned(u, train);
}
