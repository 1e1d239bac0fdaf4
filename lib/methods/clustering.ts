/**
 * TracIn similarity clustering: unit-normalise each example's gradient vector (over checkpoints,
 * the concatenation of √η_c g_i(θ_c), whose dot products are the TracIn similarities), use
 * distance 1 − cosine, and cluster by k-medoids: seeded k-medoids++ initialisation, then
 * alternate assignment and medoid update until the medoids stop changing. Deterministic for a
 * given seed; ties go to the lower index. Memory: n × k distances plus one cluster's m × m block.
 */
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { accumulateProduct, type RowMatrix } from './blockProduct';
import { vectorFeatures } from './factoredFeatures';
import { checkCheckpoints } from './validate';

export interface Cluster {
  medoid: number;
  members: number[];
  /** Σ over members of (1 − cos(member, medoid)). */
  cost: number;
}

export interface Clustering {
  clusters: Cluster[];
  /** Cluster number of each row. */
  assignment: Int32Array;
  cost: number;
  iterations: number;
}

export interface KMedoidsOptions {
  seed?: number;
  maxIterations?: number;
}

/** mulberry32: a small deterministic PRNG giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The TracIn embedding: rows [√η_1 g_i(θ_1), …, √η_C g_i(θ_C)] in float64. */
export function tracInEmbedding(
  featuresIn: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
): RowMatrix {
  const features = featuresIn.map(vectorFeatures);
  checkCheckpoints(features, null, checkpoints, 'tracInEmbedding');
  const n = features[0].grads.rows;
  const dims = features.map((f) => f.grads.dim);
  const dim = dims.reduce((a, b) => a + b, 0);
  const data = new Float64Array(n * dim);
  let offset = 0;
  features.forEach((f, c) => {
    const eta = checkpoints[c].learningRate;
    if (eta < 0) throw new Error(`tracInEmbedding: negative learning rate at checkpoint ${c}`);
    const w = Math.sqrt(eta);
    const d = f.grads.dim;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < d; k++) data[i * dim + offset + k] = w * f.grads.data[i * d + k];
    }
    offset += d;
  });
  return { rows: n, dim, data };
}

function normalise(m: RowMatrix): RowMatrix {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let k = 0; k < m.dim; k++) {
      const v = m.data[i * m.dim + k];
      if (!Number.isFinite(v)) throw new Error(`kMedoids: non-finite value at row ${i}`);
      s += v * v;
    }
    if (s === 0)
      throw new Error(`kMedoids: row ${i} is a zero vector (no direction to cluster by)`);
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < m.dim; k++) out[i * m.dim + k] = m.data[i * m.dim + k] * inv;
  }
  return { rows: m.rows, dim: m.dim, data: out };
}

function rowsOf(m: RowMatrix, idx: number[]): RowMatrix {
  const data = new Float64Array(idx.length * m.dim);
  idx.forEach((r, k) => {
    data.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), k * m.dim);
  });
  return { rows: idx.length, dim: m.dim, data };
}

/** Distances (1 − cos) of every row to each of the given rows: n × idx.length. */
function distancesTo(x: RowMatrix, idx: number[]): Float64Array {
  const d = new Float64Array(x.rows * idx.length);
  accumulateProduct(x, rowsOf(x, idx), d);
  for (let k = 0; k < d.length; k++) d[k] = 1 - d[k];
  return d;
}

export function kMedoids(vectors: RowMatrix, k: number, options: KMedoidsOptions = {}): Clustering {
  const n = vectors.rows;
  if (n === 0) throw new Error('kMedoids: empty set');
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new Error(`kMedoids: k = ${k} must be in [1, ${n}]`);
  if (vectors.data.length !== n * vectors.dim)
    throw new Error('kMedoids: data length is not rows × dim');
  const x = normalise(vectors);
  const rand = seededRandom(options.seed ?? 1);
  const maxIt = options.maxIterations ?? 100;

  // k-medoids++: each next medoid drawn with probability ∝ squared distance to the nearest chosen.
  const medoids: number[] = [Math.floor(rand() * n)];
  const nearest = distancesTo(x, medoids);
  while (medoids.length < k) {
    let total = 0;
    for (let i = 0; i < n; i++) total += Math.max(nearest[i], 0) ** 2;
    let pick = -1;
    if (total > 0) {
      let t = rand() * total;
      for (let i = 0; i < n; i++) {
        const w = Math.max(nearest[i], 0) ** 2;
        if (w > 0 && (t -= w) < 0) {
          pick = i;
          break;
        }
      }
    }
    // All remaining points coincide with a medoid (or rounding): take the first unused row.
    if (pick < 0 || medoids.includes(pick))
      pick = [...Array(n).keys()].find((i) => !medoids.includes(i))!;
    medoids.push(pick);
    const d = distancesTo(x, [pick]);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i], d[i]);
  }

  const assignment = new Int32Array(n);
  let iterations = 0;
  for (;;) {
    const d = distancesTo(x, medoids);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (d[i * k + c] < d[i * k + best]) best = c;
      assignment[i] = best;
    }
    medoids.forEach((m, c) => {
      assignment[m] = c; // a medoid always belongs to its own cluster
    });
    if (iterations >= maxIt) break;
    iterations++;
    let changed = false;
    for (let c = 0; c < k; c++) {
      const members: number[] = [];
      for (let i = 0; i < n; i++) if (assignment[i] === c) members.push(i);
      const sub = rowsOf(x, members);
      const g = new Float64Array(members.length * members.length);
      accumulateProduct(sub, sub, g);
      let best = medoids[c];
      let bestCost = Number.POSITIVE_INFINITY;
      for (let a = 0; a < members.length; a++) {
        let s = 0;
        for (let b = 0; b < members.length; b++) s += 1 - g[a * members.length + b];
        if (s < bestCost - 1e-12 || (Math.abs(s - bestCost) <= 1e-12 && members[a] < best)) {
          bestCost = s;
          best = members[a];
        }
      }
      if (best !== medoids[c]) {
        medoids[c] = best;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const d = distancesTo(x, medoids);
  const clusters: Cluster[] = medoids.map((m) => ({ medoid: m, members: [], cost: 0 }));
  let cost = 0;
  for (let i = 0; i < n; i++) {
    const c = assignment[i];
    clusters[c].members.push(i);
    const di = Math.max(d[i * k + c], 0);
    clusters[c].cost += di;
    cost += di;
  }
  return { clusters, assignment, cost, iterations };
}

/** Clusters training examples by TracIn similarity across checkpoints. */
export function tracInClusters(
  features: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
  k: number,
  options: KMedoidsOptions = {},
): Clustering {
  return kMedoids(tracInEmbedding(features, checkpoints), k, options);
}
