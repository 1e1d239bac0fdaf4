/**
 * Float64 references for the method tests: small models with hand-written per-example gradients
 * (softmax regression, one-hidden-layer tanh MLP), packing into the feature contract, brute-force
 * linear algebra. Parameter layout matches lib/methods/influence/hvp: per Dense layer, kernel
 * [in, out] row-major then bias.
 */
import type { ExampleFeatures, LayerSlice } from '../../../lib/features';
import { seededRandom } from '../../../lib/methods/clustering';

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export function randomMatrix(rows: number, cols: number, seed: number, scale = 1): Float64Array {
  const g = gaussian(seededRandom(seed));
  return Float64Array.from({ length: rows * cols }, () => scale * g());
}

/** Blobs: `classes` Gaussian clusters in `dim` dimensions, labels = cluster. */
export function blobs(n: number, dim: number, classes: number, seed: number, spread = 1) {
  const g = gaussian(seededRandom(seed));
  const centers = Float64Array.from({ length: classes * dim }, () => 2 * g());
  const x = new Float64Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let a = 0; a < dim; a++) x[i * dim + a] = centers[y[i] * dim + a] + spread * g();
  }
  return { x, y };
}

function softmax(z: Float64Array): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of z) m = Math.max(m, v);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export interface PerExample {
  rows: number;
  dim: number;
  grads: Float64Array;
  loss: Float64Array;
  layers: LayerSlice[];
}

/** Softmax regression z = xW + b; params [W (d×C), b]. */
export function softmaxRegression(
  params: Float64Array,
  x: Float64Array,
  y: Int32Array,
  d: number,
  C: number,
): PerExample {
  const n = y.length;
  const dim = d * C + C;
  const grads = new Float64Array(n * dim);
  const loss = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = new Float64Array(C);
    for (let o = 0; o < C; o++) {
      let s = params[d * C + o];
      for (let a = 0; a < d; a++) s += x[i * d + a] * params[a * C + o];
      z[o] = s;
    }
    const p = softmax(z);
    loss[i] = -Math.log(p[y[i]]);
    for (let o = 0; o < C; o++) {
      const dz = p[o] - (o === y[i] ? 1 : 0);
      for (let a = 0; a < d; a++) grads[i * dim + a * C + o] = x[i * d + a] * dz;
      grads[i * dim + d * C + o] = dz;
    }
  }
  return { rows: n, dim, grads, loss, layers: [{ name: 'dense', offset: 0, size: dim }] };
}

/** Mean-loss Hessian of softmax regression, explicit (dim × dim). */
export function softmaxRegressionHessian(
  params: Float64Array,
  x: Float64Array,
  y: Int32Array,
  d: number,
  C: number,
): Float64Array {
  const n = y.length;
  const dim = d * C + C;
  const h = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    const z = new Float64Array(C);
    for (let o = 0; o < C; o++) {
      let s = params[d * C + o];
      for (let a = 0; a < d; a++) s += x[i * d + a] * params[a * C + o];
      z[o] = s;
    }
    const p = softmax(z);
    const xt = (a: number) => (a === d ? 1 : x[i * d + a]);
    for (let a = 0; a <= d; a++) {
      for (let o = 0; o < C; o++) {
        for (let a2 = 0; a2 <= d; a2++) {
          for (let o2 = 0; o2 < C; o2++) {
            const s = (o === o2 ? p[o] : 0) - p[o] * p[o2];
            h[(a * C + o) * dim + a2 * C + o2] += (xt(a) * xt(a2) * s) / n;
          }
        }
      }
    }
  }
  return h;
}

/** One hidden tanh layer: h = tanh(xW1 + b1), z = hW2 + b2; params [W1, b1, W2, b2]. */
export function mlp(
  params: Float64Array,
  x: Float64Array,
  y: Int32Array,
  d: number,
  H: number,
  C: number,
): PerExample {
  const n = y.length;
  const s1 = d * H + H;
  const dim = s1 + H * C + C;
  const grads = new Float64Array(n * dim);
  const loss = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const h = new Float64Array(H);
    for (let u = 0; u < H; u++) {
      let s = params[d * H + u];
      for (let a = 0; a < d; a++) s += x[i * d + a] * params[a * H + u];
      h[u] = Math.tanh(s);
    }
    const z = new Float64Array(C);
    for (let o = 0; o < C; o++) {
      let s = params[s1 + H * C + o];
      for (let u = 0; u < H; u++) s += h[u] * params[s1 + u * C + o];
      z[o] = s;
    }
    const p = softmax(z);
    loss[i] = -Math.log(p[y[i]]);
    const g = grads.subarray(i * dim, (i + 1) * dim);
    const dz = p.map((v, o) => v - (o === y[i] ? 1 : 0));
    for (let o = 0; o < C; o++) {
      for (let u = 0; u < H; u++) g[s1 + u * C + o] = h[u] * dz[o];
      g[s1 + H * C + o] = dz[o];
    }
    for (let u = 0; u < H; u++) {
      let dh = 0;
      for (let o = 0; o < C; o++) dh += params[s1 + u * C + o] * dz[o];
      const du = dh * (1 - h[u] * h[u]);
      for (let a = 0; a < d; a++) g[a * H + u] = x[i * d + a] * du;
      g[d * H + u] = du;
    }
  }
  return {
    rows: n,
    dim,
    grads,
    loss,
    layers: [
      { name: 'hidden', offset: 0, size: s1 },
      { name: 'out', offset: s1, size: H * C + C },
    ],
  };
}

/** Packs float64 per-example gradients into the feature contract (float32 storage). */
export function pack(p: PerExample): ExampleFeatures {
  const data = Float32Array.from(p.grads);
  const sqNorm = new Float64Array(p.rows);
  for (let i = 0; i < p.rows; i++) {
    let s = 0;
    for (let k = 0; k < p.dim; k++) s += p.grads[i * p.dim + k] ** 2;
    sqNorm[i] = s;
  }
  return {
    grads: { rows: p.rows, dim: p.dim, data, layers: p.layers },
    loss: Float32Array.from(p.loss),
    sqNorm,
  };
}

/** The float64 view of what was stored (float32-rounded), for references. */
export function stored(f: ExampleFeatures): Float64Array {
  return Float64Array.from(f.grads.data);
}

export function dot(
  a: ArrayLike<number>,
  ao: number,
  b: ArrayLike<number>,
  bo: number,
  len: number,
): number {
  let s = 0;
  for (let k = 0; k < len; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/** Solves A x = b by Gaussian elimination with partial pivoting (float64). */
export function solveDense(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
    if (piv !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[piv * n + k]] = [m[piv * n + k], m[c * n + k]];
      [x[c], x[piv]] = [x[piv], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= m[r * n + k] * x[k];
    x[r] = s / m[r * n + r];
  }
  return x;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]));
  return m;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function ranks(a: ArrayLike<number>): Float64Array {
  const n = a.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => a[p] - a[q]);
  const r = new Float64Array(n);
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && a[order[e + 1]] === a[order[s]]) e++;
    for (let t = s; t <= e; t++) r[order[t]] = (s + e) / 2;
    s = e + 1;
  }
  return r;
}

export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** DataInf written out directly from the formula, in float64. */
export function dataInfReference(train: ExampleFeatures, query: ExampleFeatures): Float64Array {
  const n = train.grads.rows;
  const nq = query.grads.rows;
  const D = train.grads.dim;
  const g = stored(train);
  const qg = stored(query);
  const out = new Float64Array(nq * n);
  for (const l of train.grads.layers) {
    const dl = l.size;
    const at = (arr: Float64Array, row: number, c: number) => arr[row * D + l.offset + c];
    let sum = 0;
    const sq = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      for (let c = 0; c < dl; c++) sq[j] += at(g, j, c) ** 2;
      sum += sq[j];
    }
    const lambda = (0.1 * sum) / (n * dl);
    for (let q = 0; q < nq; q++) {
      const r = new Float64Array(dl);
      for (let j = 0; j < n; j++) {
        let qdot = 0;
        for (let c = 0; c < dl; c++) qdot += at(qg, q, c) * at(g, j, c);
        const w = qdot / (lambda + sq[j]) / n;
        for (let c = 0; c < dl; c++) r[c] += w * at(g, j, c);
      }
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < dl; c++) s += (at(qg, q, c) - r[c]) * at(g, i, c);
        out[q * n + i] += s / lambda;
      }
    }
  }
  return out;
}

/** max |a − b| relative to max |b|. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return maxAbsDiff(a, b) / maxAbs(b);
}

/** Row-major float32 vectors as one layer's features, with their squared norms. */
export function asFeatures(data: Float32Array, rows: number, dim: number): ExampleFeatures {
  const sqNorm = new Float64Array(rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dim; j++) sqNorm[i] += data[i * dim + j] ** 2;
  return {
    grads: { rows, dim, data, layers: [{ name: 'l', offset: 0, size: dim }] },
    loss: new Float32Array(rows),
    sqNorm,
  };
}
