/** Exact per-example quantities of one factor block, in float64, without autodiff. */
import type { FactorBlock } from './types';

/** Adds example i's full gradient of block b (inDim × outDim, row-major) into `out`. */
export function addGradient(b: FactorBlock, i: number, out: Float64Array): void {
  const { positions: T, inDim, outDim, a, tokens, delta } = b;
  for (let t = 0; t < T; t++) {
    const pos = i * T + t;
    const d0 = pos * outDim;
    if (tokens) {
      const o0 = tokens[pos] * outDim;
      for (let o = 0; o < outDim; o++) out[o0 + o] += delta[d0 + o];
      continue;
    }
    const av = a as Float32Array;
    const a0 = pos * inDim;
    for (let p = 0; p < inDim; p++) {
      const ap = av[a0 + p];
      if (ap === 0) continue;
      const o0 = p * outDim;
      for (let o = 0; o < outDim; o++) out[o0 + o] += ap * delta[d0 + o];
    }
  }
}

/** Example i's rows of an Embedding block: token → Σ δ over its occurrences. */
export function tokenRows(b: FactorBlock, i: number): Map<number, Float64Array> {
  const rows = new Map<number, Float64Array>();
  const { positions: T, outDim, delta } = b;
  const tokens = b.tokens as Int32Array;
  for (let t = 0; t < T; t++) {
    const pos = i * T + t;
    let r = rows.get(tokens[pos]);
    if (!r) rows.set(tokens[pos], (r = new Float64Array(outDim)));
    for (let o = 0; o < outDim; o++) r[o] += delta[pos * outDim + o];
  }
  return rows;
}

function dot(x: ArrayLike<number>, xi: number, y: ArrayLike<number>, yi: number, n: number) {
  let s = 0;
  for (let k = 0; k < n; k++) s += x[xi + k] * y[yi + k];
  return s;
}

/** Whether forming the full gradient is cheaper than the position-pair sums. */
export function materializeIsCheaper(b: FactorBlock): boolean {
  const T = b.positions;
  return T * b.inDim * b.outDim < (T * T * (b.inDim + b.outDim)) / 2;
}

/**
 * Exact ‖G_i‖² per example: ‖a‖²‖δ‖² for one position, Σ_{t,s}(a_t·a_s)(δ_t·δ_s) for several
 * (or ‖Σ_t a_t δ_tᵀ‖² formed explicitly when that is cheaper).
 */
export function blockSqNorms(b: FactorBlock): Float64Array {
  const { rows, positions: T, inDim, outDim, a, delta } = b;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    if (b.tokens) {
      let s = 0;
      for (const r of tokenRows(b, i).values()) s += dot(r, 0, r, 0, outDim);
      out[i] = s;
    } else if (T === 1) {
      out[i] =
        dot(a!, i * inDim, a!, i * inDim, inDim) *
        dot(delta, i * outDim, delta, i * outDim, outDim);
    } else if (materializeIsCheaper(b)) {
      const g = new Float64Array(inDim * outDim);
      addGradient(b, i, g);
      out[i] = dot(g, 0, g, 0, g.length);
    } else {
      let s = 0;
      for (let t = 0; t < T; t++) {
        const pt = i * T + t;
        for (let u = t; u < T; u++) {
          const pu = i * T + u;
          const v =
            dot(a!, pt * inDim, a!, pu * inDim, inDim) *
            dot(delta, pt * outDim, delta, pu * outDim, outDim);
          s += u === t ? v : 2 * v;
        }
      }
      out[i] = s;
    }
  }
  return out;
}

/** Concatenates the same blocks of several batches (same layers, in order) into one. */
export function concatBlocks(batches: FactorBlock[][]): FactorBlock[] {
  if (batches.length === 1) return batches[0];
  return batches[0].map((first, k) => {
    const parts = batches.map((bs) => bs[k]);
    const cat = <A extends Float32Array | Int32Array>(xs: A[], C: new (n: number) => A): A => {
      const out = new C(xs.reduce((n, x) => n + x.length, 0));
      let o = 0;
      for (const x of xs) {
        out.set(x, o);
        o += x.length;
      }
      return out;
    };
    return {
      ...first,
      rows: parts.reduce((n, p) => n + p.rows, 0),
      a: first.a
        ? cat(
            parts.map((p) => p.a as Float32Array),
            Float32Array,
          )
        : undefined,
      tokens: first.tokens
        ? cat(
            parts.map((p) => p.tokens as Int32Array),
            Int32Array,
          )
        : undefined,
      delta: cat(
        parts.map((p) => p.delta),
        Float32Array,
      ),
    };
  });
}
