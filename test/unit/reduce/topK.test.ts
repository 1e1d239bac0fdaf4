import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScoreMatrix } from '../../../lib/methods/blockProduct';
import { seededRandom } from '../../../lib/methods/clustering';
import { aggregateInfluence, mergeAggregates } from '../../../lib/reduce/aggregate';
import {
  addAggregate,
  addSelfInfluence,
  rankingAccumulator,
  toRanking,
} from '../../../lib/reduce/ranking';
import { mergeTopK, TopKAccumulator, type TopKPartial, topIndices } from '../../../lib/reduce/topK';

const Q = 5;
const N = 500;
const K = 17;
const rand = seededRandom(4);
// Scores on a coarse grid so that many ties occur.
const all = Float64Array.from({ length: Q * N }, () => Math.round((rand() - 0.5) * 40) / 4);

function shardScores(a: number, b: number): ScoreMatrix {
  const data = new Float64Array(Q * (b - a));
  for (let q = 0; q < Q; q++)
    for (let j = a; j < b; j++) data[q * (b - a) + j - a] = all[q * N + j];
  return { queries: Q, train: b - a, data };
}

function fullSort(q: number, sign: 1 | -1) {
  const idx = [...Array(N).keys()].sort(
    (a, b) => sign * (all[q * N + b] - all[q * N + a]) || a - b,
  );
  return { index: idx.slice(0, K), score: idx.slice(0, K).map((i) => all[q * N + i]) };
}

test('top-k over shards, merged in any order through JSON, equals a full sort', () => {
  const cuts = [0, 37, 120, 121, 300, N];
  const partials: TopKPartial[] = [];
  for (let s = 0; s + 1 < cuts.length; s++) {
    const acc = new TopKAccumulator(Q, K);
    acc.addScores(shardScores(cuts[s], cuts[s + 1]), cuts[s]);
    partials.push(JSON.parse(JSON.stringify(acc.toJSON())));
  }
  const forward = mergeTopK(partials);
  const backward = mergeTopK([...partials].reverse());
  const tree = mergeTopK([mergeTopK(partials.slice(0, 2)), mergeTopK(partials.slice(2))]);
  assert.deepEqual(backward, forward);
  assert.deepEqual(tree, forward);
  const whole = new TopKAccumulator(Q, K);
  whole.addScores(shardScores(0, N), 0);
  assert.deepEqual(whole.toJSON(), forward);
  for (let q = 0; q < Q; q++) {
    assert.deepEqual(forward.proponents[q], fullSort(q, 1));
    assert.deepEqual(forward.opponents[q], fullSort(q, -1));
  }
  // Small: k entries per query, not N.
  assert.ok(JSON.stringify(forward).length < 40 * Q * K * 2);
});

test('top-k of query blocks with permuted indices, ties at the cut and signed zeros equals a full sort', () => {
  // Few distinct values over many examples: most scores tie with the heap's root, so the
  // skip-or-replace test against the root decides most entries by the index rule.
  const q = 7;
  const n = 3000;
  const k = 40;
  const r = seededRandom(11);
  const scores = Float64Array.from({ length: q * n }, () => {
    const v = Math.floor(r() * 9) - 4;
    return v === 0 && r() < 0.5 ? -0 : v / 2;
  });
  const indices = [...Array(n).keys()].map((j) => 5 * j + 3);
  for (let j = n - 1; j > 0; j--) {
    const t = Math.floor(r() * (j + 1));
    [indices[j], indices[t]] = [indices[t], indices[j]];
  }
  const acc = new TopKAccumulator(q, k);
  // Query blocks of 3, 1 and 3 rows.
  for (const [q0, rows] of [
    [0, 3],
    [3, 1],
    [4, 3],
  ]) {
    const data = scores.subarray(q0 * n, (q0 + rows) * n);
    acc.addScores({ queries: rows, train: n, data }, 0, indices, q0);
  }
  const got = acc.toJSON();
  for (let qi = 0; qi < q; qi++) {
    for (const sign of [1, -1]) {
      const order = [...Array(n).keys()].sort(
        (a, b) => sign * (scores[qi * n + b] - scores[qi * n + a]) || indices[a] - indices[b],
      );
      const want = {
        index: order.slice(0, k).map((j) => indices[j]),
        score: order.slice(0, k).map((j) => scores[qi * n + j]),
      };
      assert.deepEqual(sign === 1 ? got.proponents[qi] : got.opponents[qi], want);
    }
  }
  // A vector (one query) through the same path, offset indices.
  const vec = new TopKAccumulator(1, k);
  vec.addVector(Array.from(scores.subarray(0, n)), 100);
  const order = [...Array(n).keys()].sort((a, b) => scores[b] - scores[a] || a - b);
  assert.deepEqual(
    vec.toJSON().proponents[0].index,
    order.slice(0, k).map((j) => j + 100),
  );
});

test('a non-finite score anywhere in a block throws, naming the first one', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const data = Float64Array.from({ length: 2 * 500 }, (_, i) => (i % 13) - 6);
    // Row 1, past the point where both heaps are full.
    data[500 + 321] = bad;
    data[500 + 400] = Number.NaN;
    const acc = new TopKAccumulator(4, 5);
    assert.throws(
      () => acc.addScores({ queries: 2, train: 500, data }, 1000, undefined, 2),
      new RegExp(`non-finite score ${bad} for example 1321$`),
    );
    const vec = new TopKAccumulator(1, 5);
    assert.throws(() => vec.addVector(data.subarray(500), 7), /non-finite score .* example 328$/);
  }
  const acc = new TopKAccumulator(1, 2);
  assert.throws(
    () => acc.addScores({ queries: 1, train: 3, data: new Float64Array(3) }, 0, [0, 1.5, 2]),
    /bad example index 1.5/,
  );
  assert.throws(
    () => acc.addScores({ queries: 1, train: 3, data: new Float64Array(3) }, -1),
    /bad example index -1/,
  );
});

test('aggregate influence and self-influence ranking stream per shard', () => {
  const cuts = [0, 200, N];
  const ranking = rankingAccumulator(K);
  for (let s = 0; s < 2; s++) {
    const [a, b] = [cuts[s], cuts[s + 1]];
    const sc = shardScores(a, b);
    // Two query blocks of the same shard, summed.
    const top: ScoreMatrix = { queries: 2, train: b - a, data: sc.data.subarray(0, 2 * (b - a)) };
    const bottom: ScoreMatrix = { queries: 3, train: b - a, data: sc.data.subarray(2 * (b - a)) };
    const agg = mergeAggregates(aggregateInfluence(top, a), aggregateInfluence(bottom, a));
    assert.equal(agg.queries, Q);
    for (let j = a; j < b; j++) {
      let s2 = 0;
      for (let q = 0; q < Q; q++) s2 += all[q * N + j];
      assert.ok(Math.abs(agg.sum[j - a] - s2) < 1e-12);
    }
    addAggregate(ranking, agg);
  }
  const sums = [...Array(N).keys()].map((j) =>
    [0, 1, 2, 3, 4].reduce((t, q) => t + all[q * N + j], 0),
  );
  const order = [...Array(N).keys()].sort((a, b) => sums[b] - sums[a] || a - b);
  assert.deepEqual(toRanking(ranking.toJSON()).top.index, order.slice(0, K));
  // Self-influence ranking: same machinery on a vector.
  const self = rankingAccumulator(3);
  addSelfInfluence(self, [1, 5, 5, 2], 10);
  addSelfInfluence(self, [5, 0], 14);
  assert.deepEqual(toRanking(self.toJSON()).top, { index: [11, 12, 14], score: [5, 5, 5] });
  assert.deepEqual(toRanking(self.toJSON()).bottom, { index: [15, 10, 13], score: [0, 1, 2] });
});

test('topIndices equals a full sort (largest first, ties to the lower index) at every count', () => {
  const values = all.subarray(0, N);
  const sorted = [...Array(N).keys()].sort((a, b) => values[b] - values[a] || a - b);
  for (const count of [1, 2, K, 100, N - 1, N, N + 5]) {
    assert.deepEqual(topIndices(values, count), sorted.slice(0, count), `count ${count}`);
  }
  assert.deepEqual(topIndices(values, 0), []);
  assert.deepEqual(topIndices(new Float64Array(0), 3), []);
  assert.throws(
    () => topIndices(Float64Array.of(1, Number.NaN, 2), 2),
    /non-finite score NaN for example 1/,
  );
});

test('top-k rejects bad input', () => {
  assert.throws(() => new TopKAccumulator(1, 0), /k must be ≥ 1/);
  const acc = new TopKAccumulator(2, 3);
  assert.throws(() => acc.push(0, 1, Number.NaN), /non-finite score NaN for example 1/);
  assert.throws(
    () => acc.addScores({ queries: 3, train: 1, data: new Float64Array(3) }, 0),
    /3 queries, accumulator 2/,
  );
  assert.throws(
    () => acc.addScores({ queries: 1, train: 1, data: new Float64Array(1) }, 0, undefined, 2),
    /1 queries, accumulator 2 \(block from query 2\)/,
  );
  assert.throws(
    () => acc.merge({ k: 4, queries: 2, proponents: [], opponents: [] }),
    /cannot merge/,
  );
  assert.throws(
    () => mergeAggregates({ offset: 0, queries: 1, sum: [1] }, { offset: 1, queries: 1, sum: [1] }),
    /different rows/,
  );
});
