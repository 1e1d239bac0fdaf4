import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mislabelReport, rocAuc } from '../../../lib/eval/mislabel';
import { seededRandom } from '../../../lib/methods/clustering';

/** AUC by counting all (flipped, clean) pairs. */
function pairAuc(s: number[], f: boolean[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.length; i++) {
    if (!f[i]) continue;
    for (let j = 0; j < s.length; j++) {
      if (f[j]) continue;
      den++;
      num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return num / den;
}

test('mislabel metrics equal brute force (with ties)', () => {
  const rand = seededRandom(8);
  const n = 200;
  const flipped = Array.from({ length: n }, () => rand() < 0.15);
  // Flipped examples score higher on average; coarse values create ties.
  const scores = flipped.map((f) => Math.round((rand() + (f ? 0.4 : 0)) * 10) / 10);
  const report = mislabelReport(scores, flipped);
  assert.ok(Math.abs(report.auc - pairAuc(scores, flipped)) < 1e-12);
  const total = flipped.filter(Boolean).length;
  const order = [...Array(n).keys()].sort((a, b) => scores[b] - scores[a] || a - b);
  for (const r of report.foundAt) {
    const m = Math.round(r.fraction * n);
    assert.equal(r.inspected, m);
    assert.equal(r.found, order.slice(0, m).filter((i) => flipped[i]).length / total);
  }
  assert.deepEqual(
    report.foundAt.map((r) => r.fraction),
    [0.05, 0.1, 0.2, 0.3],
  );
  assert.equal(rocAuc([3, 2, 1], [true, false, false]), 1);
  assert.equal(rocAuc([1, 1, 1], [true, false, false]), 0.5);
});

test('mislabel metrics reject bad input', () => {
  assert.throws(() => mislabelReport([], []), /empty/);
  assert.throws(() => mislabelReport([1, 2], [true]), /2 scores for 1 flipped/);
  assert.throws(() => rocAuc([1, Number.NaN], [true, false]), /non-finite score at 1/);
  assert.throws(() => rocAuc([1, 2], [false, false]), /both flipped and clean/);
});
