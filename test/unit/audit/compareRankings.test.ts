import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareRankings, rankExamples } from '../../../lib/audit/compareRankings';
import { Rng } from '../../../lib/data/rng';

/** Random examples over batches; ids repeat across batches, as in real batches. */
function randomRanking(
  batches: string[],
  rowsPerBatch: number,
  scoreOf: (b: string, id: number) => number,
) {
  const batch: number[] = [];
  const id: number[] = [];
  const score: number[] = [];
  batches.forEach((name, b) => {
    for (let i = 0; i < rowsPerBatch; i++) {
      batch.push(b);
      id.push(i);
      score.push(scoreOf(name, i));
    }
  });
  return rankExamples(
    batches,
    Int32Array.from(batch),
    Int32Array.from(id),
    Float64Array.from(score),
  );
}

test('rankExamples sorts best first with reproducible ties, and rejects NaN', () => {
  const r = rankExamples(
    ['a', 'b'],
    Int32Array.from([1, 0, 0, 1]),
    Int32Array.from([0, 1, 0, 1]),
    Float64Array.from([2, 2, 5, 1]),
  );
  assert.deepEqual(Array.from(r.score), [5, 2, 2, 1]);
  assert.deepEqual(Array.from(r.batch), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(r.id), [0, 1, 0, 1]);
  assert.throws(
    () =>
      rankExamples(
        ['a'],
        Int32Array.from([0]),
        Int32Array.from([0]),
        Float64Array.from([Number.NaN]),
      ),
    /non-finite score at row 0/,
  );
  assert.throws(
    () =>
      rankExamples(['a'], Int32Array.from([0, 0]), Int32Array.from([0]), Float64Array.from([1])),
    /1 scores but 2 batches/,
  );
});

test('compareRankings matches a brute-force comparison (entered, left, drift)', () => {
  const rng = new Rng(11);
  const prevScores = new Map<string, number>();
  const prev = randomRanking(['d1', 'd2'], 40, (b, i) => {
    const s = rng.next() * 10;
    prevScores.set(`${b}/${i}`, s);
    return s;
  });
  // The model moved a little; a new batch arrived.
  const cur = randomRanking(['d1', 'd2', 'd3'], 40, (b, i) =>
    prevScores.has(`${b}/${i}`)
      ? (prevScores.get(`${b}/${i}`) as number) + (rng.next() - 0.5) * 3
      : rng.next() * 12,
  );
  const K = 15;
  const cmp = compareRankings(cur, prev, K);

  const keyAt = (r: typeof cur, i: number) => `${r.batches[r.batch[i]]}/${r.id[i]}`;
  const prevTop = new Set(Array.from({ length: K }, (_, i) => keyAt(prev, i)));
  const curTop = new Set(Array.from({ length: K }, (_, i) => keyAt(cur, i)));
  assert.deepEqual(
    cmp.entered.map((e) => `${e.batch}/${e.id}`).sort(),
    [...curTop].filter((k) => !prevTop.has(k)).sort(),
  );
  assert.deepEqual(
    cmp.left.map((e) => `${e.batch}/${e.id}`).sort(),
    [...prevTop].filter((k) => !curTop.has(k)).sort(),
  );
  for (const e of cmp.entered) assert.equal(e.newData, e.batch === 'd3');

  // Drift over the 80 examples both saw, computed directly (two-pass correlation).
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < cur.score.length; i++) {
    const k = keyAt(cur, i);
    if (!prevScores.has(k)) {
      assert.ok(Number.isNaN(cmp.previousScore[i]));
      assert.equal(cmp.previousRank[i], -1);
      continue;
    }
    xs.push(prevScores.get(k) as number);
    ys.push(cur.score[i]);
    assert.equal(cmp.previousScore[i], prevScores.get(k));
    assert.equal(keyAt(prev, cmp.previousRank[i]), k);
  }
  assert.equal(cmp.drift.compared, 80);
  const d = ys.map((y, i) => y - xs[i]);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(cmp.drift.meanDelta - mean(d)) < 1e-12);
  assert.ok(Math.abs(cmp.drift.meanAbsDelta - mean(d.map(Math.abs))) < 1e-12);
  assert.equal(cmp.drift.maxAbsDelta, Math.max(...d.map(Math.abs)));
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  assert.ok(Math.abs((cmp.drift.correlation as number) - sxy / Math.sqrt(sxx * syy)) < 1e-9);
  assert.equal(Math.abs(cmp.drift.largest[0].delta), cmp.drift.maxAbsDelta);
});

test('an unchanged ranking has no drift, nothing entered or left', () => {
  const r = rankExamples(
    ['a'],
    Int32Array.from([0, 0, 0]),
    Int32Array.from([0, 1, 2]),
    Float64Array.from([3, 1, 2]),
  );
  const cmp = compareRankings(r, r, 2);
  assert.deepEqual(cmp.entered, []);
  assert.deepEqual(cmp.left, []);
  assert.equal(cmp.drift.maxAbsDelta, 0);
  assert.deepEqual(cmp.drift.largest, []);
  assert.equal(cmp.drift.correlation, 1);
});
