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
import { mergeTopK, TopKAccumulator, type TopKPartial } from '../../../lib/reduce/topK';

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
