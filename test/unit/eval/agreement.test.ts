import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  agreement,
  agreementOverSteps,
  averageRanks,
  bootstrapMeanCI,
  cosine,
  spearman,
} from '../../../lib/eval/agreement';
import type { GoldStandard } from '../../../lib/gold/furtherTraining';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** Brute-force Spearman: rank by counting (ties averaged), then the textbook Pearson formula. */
function bruteSpearman(a: number[], b: number[]): number {
  const rank = (v: number[]) =>
    v.map((x) => {
      const less = v.filter((y) => y < x).length;
      const equal = v.filter((y) => y === x).length;
      return less + (equal + 1) / 2;
    });
  const ra = rank(a);
  const rb = rank(b);
  const n = a.length;
  const sa = ra.reduce((s, v) => s + v, 0);
  const sb = rb.reduce((s, v) => s + v, 0);
  const sab = ra.reduce((s, v, i) => s + v * rb[i], 0);
  const saa = ra.reduce((s, v) => s + v * v, 0);
  const sbb = rb.reduce((s, v) => s + v * v, 0);
  return (n * sab - sa * sb) / Math.sqrt((n * saa - sa * sa) * (n * sbb - sb * sb));
}

test('spearman and cosine match brute force, with ties', () => {
  const r = lcg(3);
  for (let trial = 0; trial < 50; trial++) {
    const n = 3 + Math.floor(r() * 30);
    // Few distinct values, so ties are frequent.
    const a = Array.from({ length: n }, () => Math.floor(r() * 5) - 2);
    const b = Array.from({ length: n }, (_, i) =>
      trial % 2 ? a[i] + Math.floor(r() * 3) : r() - 0.5,
    );
    const s = spearman(a, b);
    const ref = bruteSpearman(a, b);
    if (Number.isNaN(ref)) assert.ok(Number.isNaN(s));
    else assert.ok(Math.abs(s - ref) < 1e-12, `${s} vs ${ref}`);
    const dot = a.reduce((acc, v, i) => acc + v * b[i], 0);
    const na = Math.hypot(...a);
    const nb = Math.hypot(...b);
    const c = cosine(a, b);
    if (na === 0 || nb === 0) assert.ok(Number.isNaN(c));
    else assert.ok(Math.abs(c - dot / (na * nb)) < 1e-12);
  }
  assert.deepEqual(Array.from(averageRanks([10, 20, 10, 30, 20])), [1.5, 3.5, 1.5, 5, 3.5]);
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.throws(() => cosine([1, 2], [1]), /length/);
  assert.throws(() => averageRanks([1, Number.NaN]), /NaN/);
});

function noisyPair(queries: number, examples: number, noise: number, seed: number) {
  const r = lcg(seed);
  const gold = new Float64Array(queries * examples);
  const method = new Float64Array(queries * examples);
  for (let i = 0; i < gold.length; i++) {
    gold[i] = r() - 0.5;
    // Per-query noise level varies, so per-query agreement varies and the CI has width.
    const q = Math.floor(i / examples);
    method[i] = gold[i] + noise * (1 + (q % 3)) * (r() - 0.5);
  }
  return { gold, method };
}

test('agreement averages per-query metrics and the bootstrap CI contains it and narrows', () => {
  const small = noisyPair(8, 40, 0.8, 1);
  const a = agreement(small.method, small.gold, 8, 40, { seed: 5 });
  let mean = 0;
  for (let j = 0; j < 8; j++) {
    mean +=
      cosine(
        small.method.subarray(j * 40, (j + 1) * 40),
        small.gold.subarray(j * 40, (j + 1) * 40),
      ) / 8;
  }
  assert.ok(Math.abs(a.cosine - mean) < 1e-12);
  for (const [v, ci] of [
    [a.cosine, a.cosineCI],
    [a.spearman, a.spearmanCI],
  ] as const) {
    assert.ok(ci[0] <= v && v <= ci[1], `${v} not in [${ci}]`);
    assert.ok(ci[1] > ci[0]);
  }
  const big = noisyPair(200, 40, 0.8, 2);
  const b = agreement(big.method, big.gold, 200, 40, { seed: 5 });
  assert.ok(b.cosineCI[0] <= b.cosine && b.cosine <= b.cosineCI[1]);
  const w = (ci: [number, number]) => ci[1] - ci[0];
  assert.ok(w(b.cosineCI) < w(a.cosineCI) / 2, `${w(b.cosineCI)} vs ${w(a.cosineCI)}`);
  assert.ok(w(b.spearmanCI) < w(a.spearmanCI) / 2);
  // Seeded: the same seed gives the same interval, another seed a different one.
  assert.deepEqual(agreement(small.method, small.gold, 8, 40, { seed: 5 }).cosineCI, a.cosineCI);
  assert.notDeepEqual(agreement(small.method, small.gold, 8, 40, { seed: 6 }).cosineCI, a.cosineCI);
  assert.throws(() => agreement(small.method, small.gold, 8, 41), /queries × 41 examples/);
});

test('bootstrap percentile interval of a known sample matches a brute-force resampling', () => {
  const v = Float64Array.from([0.1, 0.9, 0.5, 0.3, 0.7]);
  const [lo, hi] = bootstrapMeanCI(v, { resamples: 4000, seed: 1 });
  // Mean 0.5, sd of the resampled mean = sqrt(0.08/5) ≈ 0.1265; the 95% interval is ≈ ±0.25.
  assert.ok(Math.abs(lo - 0.26) < 0.05 && Math.abs(hi - 0.74) < 0.05, `[${lo}, ${hi}]`);
  assert.deepEqual(bootstrapMeanCI(new Float64Array([Number.NaN]), {}).map(Number.isNaN), [
    true,
    true,
  ]);
});

test('undefined queries are left out and counted; agreement is computed for each T', () => {
  const gold: GoldStandard = {
    steps: [1, 5],
    examples: [0, 1, 2],
    queries: 2,
    seeds: [0],
    score: [Float64Array.from([1, 2, 3, 0, 0, 0]), Float64Array.from([3, 2, 1, 1, 2, 3])],
    stderr: [new Float64Array(6), new Float64Array(6)],
  };
  const method = [1, 2, 3, 1, 2, 3];
  const r = agreementOverSteps(method, gold, { resamples: 100 });
  assert.deepEqual(
    r.map((x) => x.step),
    [1, 5],
  );
  assert.equal(r[0].queriesUsed.cosine, 1);
  assert.ok(Math.abs(r[0].cosine - 1) < 1e-12);
  assert.equal(r[1].spearman, 0); // −1 for query 0, +1 for query 1
});
