/**
 * DataInf self-influence: SPEC's DataInf score with the query gradient q = g_i itself,
 *   s_i = Σ_l (1/λ_l) (‖g_li‖² − (1/n) Σ_j (g_li·g_lj)² / (λ_l + ‖g_lj‖²)).
 * Done query by query that is n² dot products; instead the inner sum is the quadratic form
 * g_liᵀ M_l g_li with M_l = (1/n) Σ_j g_lj g_ljᵀ / (λ_l + ‖g_lj‖²), a d_l×d_l matrix built in one
 * pass, so the cost is 2·n·d_l² per layer. λ_l and the norms are those of the stored vectors, as
 * in dataInf.ts (so the result equals the diagonal of dataInf(train, train)).
 */
import type { ExampleFeatures } from '../features';
import { accumulateProduct, rowSqNorms } from './blockProduct';
import { type DataInfOptions, dataInfDamping, dataInfDampingPartial, layersOf } from './dataInf';
import { vectorFeatures } from './factoredFeatures';
import { gramPartial } from './influence/projectedCurvature';
import { checkFeatures } from './validate';

const ROWS_PER_CHUNK = 1024;

/** One layer's columns of the rows, each scaled by `scale[i]`, as a dense n × size matrix. */
function layerColumns(
  train: ExampleFeatures,
  offset: number,
  size: number,
  scale?: Float64Array,
): Float32Array {
  const { rows, dim, data } = train.grads;
  const out = new Float32Array(rows * size);
  for (let i = 0; i < rows; i++) {
    const f = scale ? scale[i] : 1;
    for (let c = 0; c < size; c++) out[i * size + c] = f * data[i * dim + offset + c];
  }
  return out;
}

export function dataInfSelfScores(
  trainIn: ExampleFeatures,
  options: DataInfOptions = {},
): Float64Array {
  const train = vectorFeatures(trainIn);
  checkFeatures(train, 'dataInfSelf train');
  const lambdas = dataInfDamping(dataInfDampingPartial(train), options);
  const n = train.grads.rows;
  const out = new Float64Array(n);
  layersOf(train.grads).forEach((layer, li) => {
    const d = layer.size;
    const lambda = lambdas[li];
    const sq = rowSqNorms(train.grads, layer.offset, layer.offset + d);
    const w = sq.map((s) => 1 / Math.sqrt(lambda + s));
    const weighted = gramPartial({
      rows: n,
      dim: d,
      data: layerColumns(train, layer.offset, d, w),
      layers: [],
    });
    const m = { rows: d, dim: d, data: weighted.gram.map((v) => v / n) };
    const g = layerColumns(train, layer.offset, d);
    for (let start = 0; start < n; start += ROWS_PER_CHUNK) {
      const rows = Math.min(ROWS_PER_CHUNK, n - start);
      const mg = new Float64Array(rows * d);
      accumulateProduct({ rows, dim: d, data: g.subarray(start * d, (start + rows) * d) }, m, mg);
      for (let i = 0; i < rows; i++) {
        let quad = 0;
        for (let c = 0; c < d; c++) quad += mg[i * d + c] * g[(start + i) * d + c];
        out[start + i] += (sq[start + i] - quad) / lambda;
      }
    }
  });
  return out;
}
