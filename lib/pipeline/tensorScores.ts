import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { emptyScores, type ScoreMatrix } from '../methods/blockProduct';
import { cosineNorms } from '../methods/gradCos';
import { checkCheckpoints } from '../methods/validate';
import type { PipelineMethod } from './runSpec';
import { type ColumnGroup, columnGroups, sharedSlices, sliceKey } from './scoreColumns';

/**
 * Queries per product. 64, not 256: a 10,000-row shard's products are then 2.5 MB each, not 10
 * (native TensorFlow's allocator keeps what a step's largest intermediates needed), and no slower
 * (products of 3 factored layers over 1,000 queries on 2 cores: 1.09–1.19 s at 64 against
 * 1.33–1.87 s at 256, peak RSS 694 against 868 MiB).
 */
export const QUERY_BLOCK = 64;

/**
 * Training rows per product (at most; a shard's blocks are of equal size). A shard's features go
 * to the backend a block of rows at a time (every checkpoint's, with their column slices), so its
 * TensorFlow memory is a block's, not the whole shard's: bench:main's 10,000-row shards of 3
 * checkpoints took about 190 MB there, first touched (46,000-49,000 page faults) in each worker's
 * first shard. 4,096, not less: blocks of 2,048 rows made bench:main's products 15-20% slower
 * (more kernel calls), 4,096 as fast as the whole shard (a scratch timing). A product's last bits
 * may depend on how many rows it has (tensorflow multiplies 35 rows of a few columns unlike 70;
 * 777 to 4,096 rows of 10 to 1,024 columns gave the same bits): a shard's blocks are set by its
 * rows, so the pipeline and the in-process runner, which score the same shards, agree bit for bit.
 */
export const ROW_BLOCK = 4096;

/**
 * The pipeline's first-order scores (TracIn-CP, Grad-Dot, Grad-Cos) with the products on the
 * TensorFlow.js backend: the plain-JS products of lib/methods reach about 1.5 GFLOP/s, wasm's
 * matMul over 20. Each checkpoint's product is float32 on the backend; the η-weighted sum over
 * checkpoints and the cosine normalisation are float64. The distributed pipeline and the
 * in-process runner both score through here, so their results stay identical; lib/methods is
 * the float64 reference these are tested against. It yields to the event loop between blocks.
 */
export async function tensorScores(
  method: PipelineMethod,
  train: ExampleFeatures[],
  query: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
  /** Query rows per product, to bound memory (queries × train floats). */
  queryBlock = QUERY_BLOCK,
  /** Training rows per product, at most (ROW_BLOCK). */
  rowBlock = ROW_BLOCK,
): Promise<ScoreMatrix> {
  const nt = train[0]?.grads.rows ?? 0;
  const out = emptyScores(query[0]?.grads.rows ?? 0, nt);
  await tensorScoreBlocks(
    method,
    train,
    query,
    checkpoints,
    (q0, r0, block) => {
      for (let j = 0; j < block.queries; j++) {
        const row = block.data.subarray(j * block.train, (j + 1) * block.train);
        out.data.set(row, (q0 + j) * nt + r0);
      }
    },
    queryBlock,
    rowBlock,
  );
  return out;
}

/**
 * The same scores a block at a time: `queryBlock` queries × `rowBlock` training rows, row blocks
 * in order and each one's query blocks in order. `onBlock` gets each block (query-major, final:
 * summed over checkpoints, normalised for Grad-Cos; its column j is training row firstRow + j)
 * and may keep nothing of it, so a consumer that folds them (top-k, sums) holds one block, not
 * queries × train (a 10,000-row shard against 1,000 queries: 1.7 MiB, not 80). Each value is the
 * one tensorScores gives: the same products, summed over checkpoints in order.
 */
export async function tensorScoreBlocks(
  method: PipelineMethod,
  train: ExampleFeatures[],
  query: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
  onBlock: (firstQuery: number, firstRow: number, block: ScoreMatrix) => void,
  queryBlock = QUERY_BLOCK,
  rowBlock = ROW_BLOCK,
): Promise<void> {
  const cs = method === 'tracin' ? checkpoints.map((_, c) => c) : [checkpoints.length - 1];
  // Every checkpoint's features, train and query: shapes and layouts here; the values of the
  // checkpoints whose products are formed through their sums (sumTransposed), the others'
  // here (one pass each).
  checkCheckpoints(train, query, checkpoints, method, { values: (c) => !cs.includes(c) });
  const nq = query[0].grads.rows;
  const nt = train[0].grads.rows;
  let norms: { train: Float64Array; query: Float64Array } | undefined;
  if (method === 'gradCos') {
    const c = checkpoints.length - 1;
    norms = { train: cosineNorms(train[c], 'vector'), query: cosineNorms(query[c], 'vector') };
  }
  const shared = sharedSlices(
    cs.map((c) => train[c].grads),
    cs.map((c) => query[c].grads),
  );
  const run = { method, train, query, checkpoints, cs, shared, queryBlock, onBlock, norms, nq };
  // Blocks of equal size (to a row): no last block of a few rows, which a backend may multiply
  // another way (tensorflow's product of one row is not its GEMM's row).
  const size = Math.ceil(nt / Math.max(1, Math.ceil(nt / rowBlock)));
  for (let r0 = 0; r0 < nt; r0 += size) {
    const rows = Math.min(size, nt - r0);
    await scoreRowBlock(run, r0, rows);
  }
}

/** What every row block of one tensorScoreBlocks call shares. */
interface ScoreRun {
  method: PipelineMethod;
  train: ExampleFeatures[];
  query: ExampleFeatures[];
  checkpoints: CheckpointInfo[];
  /** The checkpoints whose products are summed. */
  cs: number[];
  shared: Set<string>;
  queryBlock: number;
  onBlock: (firstQuery: number, firstRow: number, block: ScoreMatrix) => void;
  norms?: { train: Float64Array; query: Float64Array };
  nq: number;
}

/** The scores of training rows [r0, r0 + rows) against every query, a query block at a time. */
async function scoreRowBlock(run: ScoreRun, r0: number, rows: number): Promise<void> {
  const { method, train, query, checkpoints, cs, shared, queryBlock, nq } = run;
  // The training rows are the product's left operand and the queries its right: wasm's matMul
  // packs the right operand, and packing 1,000 queries instead of 10,000 training rows makes
  // the product 1.9 times faster (bench:scale). The result is train-major; it is added to the
  // query-major scores in tiles so both sides stay in cache. Every checkpoint's columns of the
  // block stay on the backend for its query blocks, but for slices whose products the first
  // checkpoint's serve (sharedSlices).
  const perCheckpoint = cs.map((c, ci) => {
    const g = train[c].grads;
    const groups = columnGroups(g);
    // A shared slice is not needed past the first checkpoint where it only meets itself (one
    // position: slice i times query slice i): those products are reused.
    const needed = (k: number, i: number) =>
      !(ci > 0 && groups[k].positions <= 1 && shared.has(sliceKey(k, i)));
    const made = tf.tidy(() => {
      const tt = tf.tensor2d(g.data.subarray(r0 * g.dim, (r0 + rows) * g.dim), [rows, g.dim]);
      return groups.flatMap((gr, k) =>
        gr.slices.filter((_, i) => needed(k, i)).map(([c0, w]) => columnsOf(tt, c0, w)),
      );
    });
    let next = 0;
    const cols = groups.map((gr, k) =>
      gr.slices.map((_, i) => (needed(k, i) ? made[next++] : null)),
    );
    return { c, groups, cols };
  });
  try {
    for (let q0 = 0; q0 < nq; q0 += queryBlock) {
      const nqb = Math.min(queryBlock, nq - q0);
      // Each checkpoint's float32 product, then one pass adds them all (float64, in order).
      const products: Float32Array[] = [];
      const etas: number[] = [];
      // Products of a training slice and a query slice that are the same bits at every
      // checkpoint (exact factors' first layer inputs [x, 1]): formed once for all of them.
      const reused = new Map<string, tf.Tensor>();
      try {
        for (const { c, groups, cols } of perCheckpoint) {
          const q = query[c];
          const d = q.grads.dim;
          const block = tf.tidy(() => {
            const qb = tf.tensor2d(q.grads.data.subarray(q0 * d, (q0 + nqb) * d), [nqb, d]);
            let sum: tf.Tensor | null = null;
            groups.forEach((g, k) => {
              const product = (i: number, j: number): tf.Tensor => {
                const key = `${sliceKey(k, i)}|${sliceKey(k, j)}`;
                const sharedPair = shared.has(sliceKey(k, i)) && shared.has(sliceKey(k, j));
                let done = sharedPair ? reused.get(key) : undefined;
                if (!done) {
                  const p = tf.matMul(
                    cols[k][i] as tf.Tensor2D,
                    columnsOf(qb, ...g.slices[j]),
                    false,
                    true,
                  );
                  if (!sharedPair) return p;
                  reused.set(key, (done = tf.keep(p)));
                }
                // A clone shares the data; this block may dispose it, the cache keeps its own.
                return tf.clone(done);
              };
              const p = groupProduct(g, product);
              sum = sum ? tf.add(sum, p) : p;
            });
            return sum as unknown as tf.Tensor;
          });
          products.push(block.dataSync() as Float32Array);
          block.dispose();
          etas.push(method === 'tracin' ? checkpoints[c].learningRate : 1);
        }
      } finally {
        tf.dispose([...reused.values()]);
      }
      const out = emptyScores(nqb, rows);
      const finite = sumTransposed(out.data, rows, products, etas, nqb);
      if (!finite) nonFinite(run, out.data, products, r0, q0, nqb);
      if (run.norms) {
        for (let j = 0; j < nqb; j++) {
          const qn = run.norms.query[q0 + j];
          for (let i = 0; i < rows; i++) {
            const den = qn * run.norms.train[r0 + i];
            out.data[j * rows + i] = den > 0 ? out.data[j * rows + i] / den : 0;
          }
        }
      }
      run.onBlock(q0, r0, out);
      // Let the worker's event loop run (heartbeats, workflow tasks) between blocks: once a block
      // of every checkpoint's products, not after each. With a yield after each product and row
      // block, bench:scale's two-slot worker ran the other slot's featurize inside this step.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    tf.dispose(perCheckpoint.flatMap((p) => p.cols.flat().filter((t) => t !== null)));
  }
}

/**
 * A block of summed scores (query-major: nqb queries × the row block) that is not all finite,
 * named. A non-finite feature value makes its whole row or column of products non-finite (x·0 is
 * NaN for x = ±∞ or NaN), and a non-finite product its sum (η·x too, for η = 0): sumTransposed's
 * check of the sums stands for a scan of every checkpoint's features, rows × columns, which was 4%
 * of a worker's CPU in bench:main (`perf record`). The features are scanned now to name the
 * value, as checkMatrix does; if they are all finite, the products overflowed, named by training
 * row, query and checkpoint.
 */
function nonFinite(
  run: ScoreRun,
  sums: Float64Array,
  products: Float32Array[],
  r0: number,
  q0: number,
  nqb: number,
): never {
  checkCheckpoints(run.train, run.query, run.checkpoints, run.method);
  const k = sums.findIndex((v) => !Number.isFinite(v));
  const rows = sums.length / nqb;
  const [j, i] = [Math.floor(k / rows), k % rows];
  const ci = Math.max(
    0,
    products.findIndex((p) => !Number.isFinite(p[i * nqb + j])),
  );
  throw new Error(
    `${run.method}: the product of training row ${r0 + i} and query ${q0 + j} at checkpoint ${run.cs[ci]} is ${products[ci][i * nqb + j]} (finite values whose products overflow float32)`,
  );
}

function columnsOf(m: tf.Tensor2D, c0: number, w: number): tf.Tensor2D {
  // A clone shares the data: all columns cost nothing.
  return c0 === 0 && w === m.shape[1] ? tf.clone(m) : tf.slice(m, [0, c0], [-1, w]);
}

/**
 * Train-major product of one group; `product(i, j)` is training slice i times query slice j
 * (transposed).
 */
function groupProduct(g: ColumnGroup, product: (i: number, j: number) => tf.Tensor): tf.Tensor {
  const T = g.positions;
  if (T === 0) return product(0, 0);
  let sum: tf.Tensor | null = null;
  for (let s = 0; s < T; s++) {
    for (let t = 0; t < T; t++) {
      const p = tf.mul(product(t, s), product(T + t, T + s));
      sum = sum ? tf.add(sum, p) : p;
    }
  }
  return sum as unknown as tf.Tensor;
}

/**
 * out[j * nt + i] = Σ_c etas[c] · products[c][i * rows + j], added in order c = 0, 1, … into
 * zero (float64): train-major blocks into query-major scores, in tiles so both sides stay in
 * cache, up to three checkpoints' products per pass (each output read and written once for
 * TracIn's usual three: half the time of a pass per checkpoint). Returns whether every sum is
 * finite: v·0 is ±0 for a finite v and NaN otherwise, so `z` stays 0 exactly when all are (a
 * non-finite term leaves its sum non-finite), at one add a value where a scan of its own was a
 * pass over the block.
 */
function sumTransposed(
  out: Float64Array,
  nt: number,
  products: Float32Array[],
  etas: number[],
  rows: number,
): boolean {
  const TILE = 64;
  let z = 0;
  for (let c0 = 0; c0 < products.length; c0 += 3) {
    const n = Math.min(3, products.length - c0);
    // Unused operands repeat a used one; their terms are never added.
    const [s0, s1, s2] = [0, 1, 2].map((d) => products[c0 + Math.min(d, n - 1)]);
    const [e0, e1, e2] = [0, 1, 2].map((d) => etas[c0 + Math.min(d, n - 1)]);
    for (let i0 = 0; i0 < nt; i0 += TILE) {
      const i1 = Math.min(nt, i0 + TILE);
      for (let j = 0; j < rows; j++) {
        const base = j * nt;
        for (let i = i0; i < i1; i++) {
          const k = i * rows + j;
          // Left to right: ((out + e0·s0) + e1·s1) + e2·s2, the order of one pass per product.
          let v = c0 === 0 ? 0 : out[base + i];
          v += e0 * s0[k];
          if (n > 1) v += e1 * s1[k];
          if (n > 2) v += e2 * s2[k];
          out[base + i] = v;
          z += v * 0;
        }
      }
    }
  }
  return z === 0;
}
