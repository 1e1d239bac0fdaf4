/**
 * Features whose layer slices may hold a gradient's factors (LayerSlice.factors) instead of the
 * gradient: products and norms straight from the factors, ⟨Σ_t a_t ⊗ δ_t, Σ_s a'_s ⊗ δ'_s⟩ =
 * Σ_{t,s} (a_t·a'_s)(δ_t·δ'_s), never forming a gradient; and the expansion to plain vectors for
 * the methods that work in the vector space itself (curvature, DataInf, clustering).
 */
import type { ExampleFeatures, GradientMatrix, LayerSlice } from '../features';
import { accumulateProduct, type RowMatrix } from './blockProduct';

/** Whether any layer of the matrix is stored as factors. */
export function hasFactors(m: GradientMatrix): boolean {
  return (m.layers ?? []).some((l) => l.factors);
}

/** The vector size a slice stands for (its own size unless it holds factors). */
export function vectorSize(l: LayerSlice): number {
  return l.factors ? l.factors.inDim * l.factors.outDim : l.size;
}

/** Columns [col0, col0 + width) of every row, as a contiguous float64 matrix. */
function columns(m: GradientMatrix, col0: number, width: number): RowMatrix {
  const data = new Float64Array(m.rows * width);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.dim + col0;
    for (let c = 0; c < width; c++) data[i * width + c] = m.data[o + c];
  }
  return { rows: m.rows, dim: width, data };
}

/** Throws unless the two matrices have the same layer layout (names, sizes, factor forms). */
export function checkSameLayout(a: GradientMatrix, b: GradientMatrix, what: string): void {
  const la = a.layers ?? [];
  const lb = b.layers ?? [];
  if (!hasFactors(a) && !hasFactors(b)) return;
  const same =
    la.length === lb.length &&
    la.every((l, k) => {
      const m = lb[k];
      return (
        l.offset === m.offset &&
        l.size === m.size &&
        l.factors?.positions === m.factors?.positions &&
        l.factors?.inDim === m.factors?.inDim &&
        l.factors?.outDim === m.factors?.outDim
      );
    });
  if (!same) throw new Error(`${what}: train and query features are stored in different layouts`);
}

/**
 * out (a.rows × b.rows, row-major) += alpha · ⟨a_i, b_j⟩ over every layer, factored layers by
 * the dot-product identity (float64; the reference the backend products are tested against).
 */
export function accumulateFeatureProduct(
  a: GradientMatrix,
  b: GradientMatrix,
  out: Float64Array,
  alpha = 1,
): void {
  checkSameLayout(a, b, 'featureProduct');
  if (!hasFactors(a)) {
    accumulateProduct(a, b, out, { alpha });
    return;
  }
  const n = a.rows * b.rows;
  const aa = new Float64Array(n);
  const dd = new Float64Array(n);
  for (const l of a.layers) {
    if (!l.factors) {
      accumulateProduct(a, b, out, { alpha, colStart: l.offset, colEnd: l.offset + l.size });
      continue;
    }
    const { positions: T, inDim, outDim } = l.factors;
    const dOff = l.offset + T * inDim;
    for (let t = 0; t < T; t++) {
      const at = columns(a, l.offset + t * inDim, inDim);
      const dt = columns(a, dOff + t * outDim, outDim);
      for (let s = 0; s < T; s++) {
        aa.fill(0);
        dd.fill(0);
        accumulateProduct(at, columns(b, l.offset + s * inDim, inDim), aa);
        accumulateProduct(dt, columns(b, dOff + s * outDim, outDim), dd);
        for (let k = 0; k < n; k++) out[k] += alpha * aa[k] * dd[k];
      }
    }
  }
}

function dotAt(x: ArrayLike<number>, i: number, y: ArrayLike<number>, j: number, n: number) {
  let s = 0;
  for (let k = 0; k < n; k++) s += x[i + k] * y[j + k];
  return s;
}

/** Squared norm of each row's vector for one layer slice (from the factors when factored). */
export function sliceSqNorms(m: GradientMatrix, l: LayerSlice): Float64Array {
  const out = new Float64Array(m.rows);
  const d = m.data;
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.dim + l.offset;
    if (!l.factors) {
      out[i] = dotAt(d, o, d, o, l.size);
      continue;
    }
    const { positions: T, inDim, outDim } = l.factors;
    const dOff = o + T * inDim;
    let s = 0;
    for (let t = 0; t < T; t++) {
      for (let u = 0; u < T; u++) {
        s +=
          dotAt(d, o + t * inDim, d, o + u * inDim, inDim) *
          dotAt(d, dOff + t * outDim, d, dOff + u * outDim, outDim);
      }
    }
    out[i] = s;
  }
  return out;
}

/** Squared norm of each row's vector, summed over layers. */
export function featureSqNorms(m: GradientMatrix): Float64Array {
  const layers =
    m.layers && m.layers.length > 0 ? m.layers : [{ name: '', offset: 0, size: m.dim }];
  const out = new Float64Array(m.rows);
  for (const l of layers) {
    const s = sliceSqNorms(m, l);
    for (let i = 0; i < m.rows; i++) out[i] += s[i];
  }
  return out;
}

/** The matrix with every factored slice replaced by the vector Σ_t a_t ⊗ δ_t it stands for. */
export function gradientVectors(m: GradientMatrix): GradientMatrix {
  if (!hasFactors(m)) return m;
  const layers: LayerSlice[] = [];
  let dim = 0;
  for (const l of m.layers) {
    const size = vectorSize(l);
    layers.push({ name: l.name, offset: dim, size });
    dim += size;
  }
  const data = new Float32Array(m.rows * dim);
  const g = new Float64Array(Math.max(...layers.map((l) => l.size)));
  for (let i = 0; i < m.rows; i++) {
    m.layers.forEach((l, k) => {
      const o = i * m.dim + l.offset;
      const dst = i * dim + layers[k].offset;
      if (!l.factors) {
        data.set(m.data.subarray(o, o + l.size), dst);
        return;
      }
      const { positions: T, inDim, outDim } = l.factors;
      g.fill(0, 0, inDim * outDim);
      for (let t = 0; t < T; t++) {
        const a0 = o + t * inDim;
        const d0 = o + T * inDim + t * outDim;
        for (let p = 0; p < inDim; p++) {
          const ap = m.data[a0 + p];
          if (ap === 0) continue;
          for (let q = 0; q < outDim; q++) g[p * outDim + q] += ap * m.data[d0 + q];
        }
      }
      for (let p = 0; p < inDim * outDim; p++) data[dst + p] = g[p];
    });
  }
  return { rows: m.rows, dim, data, layers };
}

/** The features with their gradients as plain vectors (see gradientVectors). */
export function vectorFeatures(f: ExampleFeatures): ExampleFeatures {
  return hasFactors(f.grads) ? { ...f, grads: gradientVectors(f.grads) } : f;
}
