import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { ExampleFeatures } from '../../../lib/features';
import { gradCos } from '../../../lib/methods/gradCos';
import { gradDot } from '../../../lib/methods/gradDot';
import { selfInfluence } from '../../../lib/methods/selfInfluence';
import { tracIn } from '../../../lib/methods/tracIn';
import {
  readShardScores,
  scoreShardFeatures,
  writeShardScores,
} from '../../../lib/pipeline/shardScores';
import { tensorScores } from '../../../lib/pipeline/tensorScores';
import { aggregateInfluence } from '../../../lib/reduce/aggregate';
import { TopKAccumulator } from '../../../lib/reduce/topK';
import { initBackend } from '../../../lib/tf/backend';
import { COMPARED_BACKENDS } from '../../support/backend';
import { asFeatures, maxRelErr } from '../methods/fixtures';

function features(rows: number, dim: number, seed: number): ExampleFeatures {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return asFeatures(Float32Array.from({ length: rows * dim }, rnd), rows, dim);
}

for (const backend of COMPARED_BACKENDS) {
  test(`tensor scores agree with the float64 methods (${backend})`, async () => {
    await initBackend(backend, () => {});
    assert.equal(tf.getBackend(), backend);
    const cks = [
      { step: 1, learningRate: 0.5 },
      { step: 2, learningRate: 0.1 },
    ];
    const train = [features(300, 40, 1), features(300, 40, 2)];
    const query = [features(7, 40, 3), features(7, 40, 4)];
    // A query block smaller than the queries exercises the blocking.
    const t = await tensorScores('tracin', train, query, cks, 3);
    assert.ok(maxRelErr(t.data, tracIn(train, query, cks).data) < 1e-5);
    const d = await tensorScores('gradDot', train, query, cks);
    assert.ok(maxRelErr(d.data, gradDot(train[1], query[1]).data) < 1e-5);
    const c = await tensorScores('gradCos', train, query, cks);
    assert.ok(maxRelErr(c.data, gradCos(train[1], query[1]).data) < 1e-5);
    // Swapping the learning rates changes TracIn: the weighting is really applied.
    const swapped = await tensorScores(
      'tracin',
      train,
      query,
      [cks[1], cks[0]].map((c, i) => ({ ...c, step: i + 1 })),
    );
    assert.ok(maxRelErr(swapped.data, t.data) > 1e-2);
    // TracIn is each checkpoint's float32 product (Grad-Dot's, η = 1) weighted and added in
    // checkpoint order in float64, exactly; with 1 to 5 checkpoints (the sum takes up to 3 per pass).
    for (let n = 1; n <= 5; n++) {
      const ck = Array.from({ length: n }, (_, c) => ({
        step: c + 1,
        learningRate: 0.7 / (c + 1),
      }));
      const tr = ck.map((_, c) => features(300, 40, 20 + c));
      const qu = ck.map((_, c) => features(7, 40, 30 + c));
      const each = await Promise.all(
        ck.map((_, c) => tensorScores('gradDot', [tr[c]], [qu[c]], [ck[c]], 3)),
      );
      const summed = new Float64Array(each[0].data.length);
      for (let c = 0; c < n; c++) {
        for (let k = 0; k < summed.length; k++) summed[k] += ck[c].learningRate * each[c].data[k];
      }
      assert.deepEqual((await tensorScores('tracin', tr, qu, ck, 3)).data, summed, `${n}`);
    }
    const bad = features(5, 40, 5);
    bad.grads.data[3] = Number.NaN;
    await assert.rejects(tensorScores('gradDot', [bad], [query[0]], [cks[0]]), /NaN|finite/);
  });
}

test('a shard folded a block of queries at a time equals its whole score matrix ranked and summed', async () => {
  await initBackend('cpu', () => {});
  const cks = [
    { step: 1, learningRate: 0.5 },
    { step: 2, learningRate: 0.1 },
  ];
  // 4,200 rows and 600 queries: 2 blocks of 2,100 rows (ROW_BLOCK is 4,096) and blocks of
  // QUERY_BLOCK (64) queries, the last one partial.
  const train = [features(4200, 24, 11), features(4200, 24, 12)];
  const query = [features(600, 24, 13), features(600, 24, 14)];
  for (const method of ['tracin', 'gradCos'] as const) {
    const got = await scoreShardFeatures({
      method,
      query,
      train,
      checkpoints: cks,
      topK: 7,
      offset: 40,
    });
    const whole = await tensorScores(method, train, query, cks, 600, 4200);
    const topk = new TopKAccumulator(600, 7);
    topk.addScores(whole, 40);
    assert.deepEqual(got.topk, topk.toJSON(), method);
    assert.deepEqual(got.aggregate, Float64Array.from(aggregateInfluence(whole, 40).sum), method);
    assert.deepEqual(got.selfInfluence, selfInfluence(train, cks, 'exact'));
    assert.equal(got.offset, 40);
    assert.equal(got.rows, 4200);
    // The partial's files give it back exactly.
    const files = writeShardScores(got);
    const read = readShardScores(files.ranked, files.examples);
    assert.deepEqual(read.topk, got.topk);
    assert.deepEqual(read.aggregate, got.aggregate);
  }
  const bad = features(600, 24, 15);
  bad.grads.data[24 * 300] = Number.POSITIVE_INFINITY;
  await assert.rejects(
    scoreShardFeatures({
      method: 'gradDot',
      query: [bad, bad],
      train,
      checkpoints: cks,
      topK: 3,
      offset: 0,
    }),
    /finite/,
  );
});

/**
 * Factored features of three layers (one position, one position, two positions) whose first
 * layer's inputs (and one input slice of the two-position layer) are the same bits at every
 * checkpoint, as exact factors' [x, 1] are.
 */
function factoredCheckpoints(rows: number, seed: number, checkpoints: number): ExampleFeatures[] {
  const layers = [
    { name: 'd1', offset: 0, size: 8, factors: { positions: 1, inDim: 5, outDim: 3 } },
    { name: 'd2', offset: 8, size: 6, factors: { positions: 1, inDim: 4, outDim: 2 } },
    { name: 'seq', offset: 14, size: 10, factors: { positions: 2, inDim: 3, outDim: 2 } },
  ];
  const dim = 24;
  const fixed = [...features(rows, dim, seed).grads.data];
  return Array.from({ length: checkpoints }, (_, c) => {
    const f = features(rows, dim, seed * 10 + c + 1);
    for (let r = 0; r < rows; r++) {
      for (const j of [0, 1, 2, 3, 4, 14, 15, 16]) f.grads.data[r * dim + j] = fixed[r * dim + j];
    }
    return { ...f, grads: { ...f.grads, layers } };
  });
}

for (const backend of COMPARED_BACKENDS) {
  test(`columns equal at every checkpoint are multiplied once, to the same bits (${backend})`, async () => {
    await initBackend(backend, () => {});
    const cks = [0.5, 0.1, 0.02].map((learningRate, step) => ({ step, learningRate }));
    const train = factoredCheckpoints(70, 5, 3);
    const query = factoredCheckpoints(9, 6, 3);
    const matMuls = async (f: () => Promise<void>) =>
      (await tf.profile(f)).kernels.filter((k) => /MatMul/.test(k.name)).length;
    let all: Float64Array = new Float64Array(0);
    const shared = await matMuls(async () => {
      all = (await tensorScores('tracin', train, query, cks, 4)).data;
    });
    // Each checkpoint alone shares nothing; summed in order they are what the three give.
    const sum = new Float64Array(all.length);
    let alone = 0;
    for (let c = 0; c < 3; c++) {
      alone += await matMuls(async () => {
        const s = await tensorScores('tracin', [train[c]], [query[c]], [cks[c]], 4);
        for (let i = 0; i < sum.length; i++) sum[i] += s.data[i];
      });
    }
    assert.deepEqual(all, sum);
    // Per query block: d1's input product (and seq's one shared pair) once, not three times.
    assert.equal(alone - shared, 3 * (2 + 2));
    assert.ok(maxRelErr(all, tracIn(train, query, cks).data) < 1e-5);
  });
}

for (const backend of COMPARED_BACKENDS) {
  test(`blocks of training rows: the whole shard's scores to float32 rounding, the same bits each time (${backend})`, async () => {
    await initBackend(backend, () => {});
    const cks = [0.5, 0.1, 0.02].map((learningRate, step) => ({ step, learningRate }));
    const train = factoredCheckpoints(70, 7, 3);
    const query = factoredCheckpoints(9, 8, 3);
    const reference = tracIn(train, query, cks).data;
    for (const method of ['tracin', 'gradDot', 'gradCos'] as const) {
      const whole = (await tensorScores(method, train, query, cks, 4, 70)).data;
      // 5 blocks of 14 rows, 3 of 24, 2 of 35: equal sizes, never a block of one row.
      for (const rowBlock of [16, 33, 69]) {
        const blocked = (await tensorScores(method, train, query, cks, 4, rowBlock)).data;
        const what = `${method}, ${rowBlock} rows a block`;
        assert.ok(maxRelErr(blocked, whole) < 1e-6, what);
        if (method === 'tracin') assert.ok(maxRelErr(blocked, reference) < 1e-5, what);
        const again = await tensorScores(method, train, query, cks, 4, rowBlock);
        assert.deepEqual(again.data, blocked, what);
      }
    }
  });
}

test('plain (projected) features the same at every checkpoint: one product, reused, same bits', async () => {
  await initBackend(COMPARED_BACKENDS[0], () => {});
  const cks = [0.5, 0.1, 0.02].map((learningRate, step) => ({ step, learningRate }));
  const f = features(40, 12, 8);
  const q = features(5, 12, 9);
  // The same arrays at every checkpoint (a model whose weights did not move between them).
  const all = await tensorScores('tracin', [f, f, f], [q, q, q], cks, 2);
  const sum = new Float64Array(all.data.length);
  for (let c = 0; c < 3; c++) {
    const s = await tensorScores('tracin', [f], [q], [cks[c]], 2);
    for (let i = 0; i < sum.length; i++) sum[i] += s.data[i];
  }
  assert.deepEqual(all.data, sum);
});

test('a non-finite feature value at any checkpoint, train or query, is named; exact self-influence reads only the norms', async () => {
  const cks = [
    { step: 1, learningRate: 0.5 },
    { step: 2, learningRate: 0.1 },
    { step: 3, learningRate: 0.2 },
  ];
  const fresh = () => ({
    train: cks.map((_, c) => features(30, 8, 40 + c)),
    query: cks.map((_, c) => features(4, 8, 50 + c)),
  });
  for (const method of ['tracin', 'gradDot', 'gradCos'] as const) {
    for (const set of ['train', 'query'] as const) {
      for (let c = 0; c < cks.length; c++) {
        const f = fresh();
        f[set][c].grads.data[13] = Number.NaN;
        await assert.rejects(
          tensorScores(method, f.train, f.query, cks),
          new RegExp(
            `${set}\\[checkpoint ${c}\\]: non-finite gradient value NaN at row 1, column 5`,
          ),
          `${method} ${set} ${c}`,
        );
      }
    }
  }
  // Past the first row block and query block: the products of every block are checked.
  const late = fresh();
  late.train[1].grads.data[25 * 8 + 2] = Number.NEGATIVE_INFINITY;
  await assert.rejects(
    tensorScores('tracin', late.train, late.query, cks, 2, 8),
    /train\[checkpoint 1\]: non-finite gradient value -Infinity at row 25, column 2/,
  );
  // Finite values whose products overflow float32: named by their training row and query.
  const big = fresh();
  big.train[2].grads.data.fill(3e19, 17 * 8, 18 * 8);
  big.query[2].grads.data.fill(3e19, 3 * 8, 4 * 8);
  await assert.rejects(
    tensorScores('tracin', big.train, big.query, cks, 2, 8),
    /tracin: the product of training row 17 and query 3 at checkpoint 2 is Infinity \(finite values whose products overflow float32\)/,
  );
  const { train } = fresh();
  const want = selfInfluence(train, cks, 'exact');
  train[2].grads.data[13] = Number.NaN;
  assert.deepEqual(selfInfluence(train, cks, 'exact'), want);
  assert.throws(() => selfInfluence(train, cks, 'projected'), /train\[checkpoint 2\]: non-finite/);
  train[1].sqNorm[3] = Number.POSITIVE_INFINITY;
  assert.throws(() => selfInfluence(train, cks, 'exact'), /non-finite sqNorm at row 3/);
});
