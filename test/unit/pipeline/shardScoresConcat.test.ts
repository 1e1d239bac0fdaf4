import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../../lib/methods/clustering';
import { ShardScoresConcat } from '../../../lib/pipeline/reduce';
import type { ShardScores } from '../../../lib/pipeline/shardScores';
import { TopKAccumulator } from '../../../lib/reduce/topK';

const Q = 4;
const N = 300;
const K = 9;
const rand = seededRandom(11);
// A coarse grid, so that ties (broken by the lower index) occur.
const all = Float64Array.from({ length: Q * N }, () => Math.round((rand() - 0.5) * 30) / 4);
const agg = Float64Array.from({ length: N }, () => rand());
const self = Float64Array.from({ length: N }, () => rand());

function partial(a: number, b: number): ShardScores {
  const acc = new TopKAccumulator(Q, K);
  for (let q = 0; q < Q; q++) for (let j = a; j < b; j++) acc.push(q, j, all[q * N + j]);
  return {
    offset: a,
    rows: b - a,
    topk: acc.toJSON(),
    aggregate: agg.slice(a, b),
    selfInfluence: self.slice(a, b),
  };
}

test('partials folded one at a time equal one partial over all their rows', () => {
  const cuts = [0, 1, 64, 65, 200, N];
  const c = new ShardScoresConcat();
  for (let s = 0; s + 1 < cuts.length; s++) c.add(partial(cuts[s], cuts[s + 1]));
  const got = c.finish();
  const whole = partial(0, N);
  assert.equal(got.offset, 0);
  assert.equal(got.rows, N);
  assert.deepEqual(got.topk, whole.topk);
  assert.deepEqual(got.aggregate, agg);
  assert.deepEqual(got.selfInfluence, self);
  // A fold over an inner range keeps its offset.
  const inner = new ShardScoresConcat();
  inner.add(partial(64, 65));
  inner.add(partial(65, 200));
  const mid = inner.finish();
  assert.equal(mid.offset, 64);
  assert.deepEqual(mid.topk, partial(64, 200).topk);
});

test('a gap or an empty fold is an error', () => {
  const c = new ShardScoresConcat();
  c.add(partial(0, 10));
  assert.throws(() => c.add(partial(11, 20)), /not consecutive \(rows 11\.\. follow rows \.\.10\)/);
  assert.throws(() => new ShardScoresConcat().finish(), /no partials/);
});
