/**
 * The one blockwise matrix product every method reduces to: out[i, j] += alpha · A_i · B_j over a
 * column range, A and B row-major. Blocking over B rows and columns keeps a block of B in cache
 * while every row of A streams past it; a 1×4 micro-kernel reads each A element once per 4 rows.
 */

export type Vectors = Float32Array | Float64Array;

/** A row-major matrix of per-example vectors (a GradientMatrix, or a float64 intermediate). */
export interface RowMatrix {
  rows: number;
  dim: number;
  data: Vectors;
}

/** Scores, queries × train, row-major: data[q * train + i] is query q's score for example i. */
export interface ScoreMatrix {
  queries: number;
  train: number;
  data: Float64Array;
}

export interface BlockProductOptions {
  /** Multiplies every product before it is added to `out`. Default 1. */
  alpha?: number;
  /** Column range [colStart, colEnd) of the product; default all columns. */
  colStart?: number;
  colEnd?: number;
}

const ROW_BLOCK = 64;
const COL_BLOCK = 512;

/** out (a.rows × b.rows, row-major) += alpha · A Bᵀ restricted to the column range. */
export function accumulateProduct(
  a: RowMatrix,
  b: RowMatrix,
  out: Float64Array,
  options: BlockProductOptions = {},
): void {
  if (a.dim !== b.dim) {
    throw new Error(`blockProduct: dimension mismatch, ${a.dim} vs ${b.dim}`);
  }
  if (out.length !== a.rows * b.rows) {
    throw new Error(
      `blockProduct: output has length ${out.length}, expected ${a.rows} × ${b.rows}`,
    );
  }
  const alpha = options.alpha ?? 1;
  const c0 = options.colStart ?? 0;
  const c1 = options.colEnd ?? a.dim;
  if (c0 < 0 || c1 > a.dim || c0 > c1) {
    throw new Error(`blockProduct: column range [${c0}, ${c1}) outside [0, ${a.dim})`);
  }
  const A = a.data;
  const B = b.data;
  const d = a.dim;
  const nA = a.rows;
  const nB = b.rows;
  for (let jb = 0; jb < nB; jb += ROW_BLOCK) {
    const jEnd = Math.min(jb + ROW_BLOCK, nB);
    for (let cb = c0; cb < c1; cb += COL_BLOCK) {
      const cEnd = Math.min(cb + COL_BLOCK, c1);
      for (let i = 0; i < nA; i++) {
        const ia = i * d;
        const io = i * nB;
        let j = jb;
        for (; j + 3 < jEnd; j += 4) {
          const j0 = j * d;
          const j1 = j0 + d;
          const j2 = j1 + d;
          const j3 = j2 + d;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let c = cb; c < cEnd; c++) {
            const x = A[ia + c];
            s0 += x * B[j0 + c];
            s1 += x * B[j1 + c];
            s2 += x * B[j2 + c];
            s3 += x * B[j3 + c];
          }
          out[io + j] += alpha * s0;
          out[io + j + 1] += alpha * s1;
          out[io + j + 2] += alpha * s2;
          out[io + j + 3] += alpha * s3;
        }
        for (; j < jEnd; j++) {
          const jj = j * d;
          let s = 0;
          for (let c = cb; c < cEnd; c++) s += A[ia + c] * B[jj + c];
          out[io + j] += alpha * s;
        }
      }
    }
  }
}

/** A new zeroed score matrix for `queries` × `train`. */
export function emptyScores(queries: number, train: number): ScoreMatrix {
  return { queries, train, data: new Float64Array(queries * train) };
}

/** Squared norms of each row over a column range, in float64. */
export function rowSqNorms(m: RowMatrix, colStart = 0, colEnd = m.dim): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.dim;
    let s = 0;
    for (let c = colStart; c < colEnd; c++) s += m.data[o + c] * m.data[o + c];
    out[i] = s;
  }
  return out;
}

/**
 * out (coeffs.rows × b.dim) += coeffs · B over a column range of B: the weighted sums of rows
 * Σ_j C[q, j] B_j. Streams each row of B once per query block.
 */
export function accumulateWeightedRows(
  coeffs: RowMatrix,
  b: RowMatrix,
  out: Float64Array,
  options: BlockProductOptions = {},
): void {
  if (coeffs.dim !== b.rows) {
    throw new Error(`blockProduct: ${coeffs.dim} coefficients per row for ${b.rows} rows`);
  }
  if (out.length !== coeffs.rows * b.dim) {
    throw new Error(
      `blockProduct: output has length ${out.length}, expected ${coeffs.rows} × ${b.dim}`,
    );
  }
  const alpha = options.alpha ?? 1;
  const c0 = options.colStart ?? 0;
  const c1 = options.colEnd ?? b.dim;
  const C = coeffs.data;
  const B = b.data;
  const d = b.dim;
  const nq = coeffs.rows;
  const nb = b.rows;
  for (let jb = 0; jb < nb; jb += ROW_BLOCK) {
    const jEnd = Math.min(jb + ROW_BLOCK, nb);
    for (let q = 0; q < nq; q++) {
      const oq = q * d;
      for (let j = jb; j < jEnd; j++) {
        const w = alpha * C[q * nb + j];
        if (w === 0) continue;
        const ob = j * d;
        for (let c = c0; c < c1; c++) out[oq + c] += w * B[ob + c];
      }
    }
  }
}
