import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExampleFeatures } from '../../../lib/features';
import {
  dataInf,
  dataInfDamping,
  dataInfDampingPartial,
  dataInfPassOne,
  dataInfPrecondition,
  mergeDataInfDamping,
  mergeDataInfPassOne,
} from '../../../lib/methods/dataInf';
import { gradDot } from '../../../lib/methods/gradDot';
import { scoreMethod } from '../../../lib/methods/index';
import { conjugateGradient } from '../../../lib/methods/influence/conjugateGradient';
import {
  influenceScores,
  scoresFromPreconditioned,
} from '../../../lib/methods/influence/influenceScores';
import {
  factorCurvature,
  gramPartial,
  mergeGramPartials,
  projectedCurvature,
  projectedInfluence,
} from '../../../lib/methods/influence/projectedCurvature';
import {
  blobs,
  dataInfReference,
  maxAbs,
  maxAbsDiff,
  mlp,
  pack,
  pearson,
  randomMatrix,
  softmaxRegression,
  softmaxRegressionHessian,
  solveDense,
  spearman,
  stored,
} from './fixtures';

function slice(f: ExampleFeatures, a: number, b: number): ExampleFeatures {
  const d = f.grads.dim;
  return {
    grads: { ...f.grads, rows: b - a, data: f.grads.data.subarray(a * d, b * d) },
    loss: f.loss.subarray(a, b),
    sqNorm: f.sqNorm.subarray(a, b),
  };
}

function randomFeatures(rows: number, dim: number, seed: number): ExampleFeatures {
  return pack({
    rows,
    dim,
    grads: randomMatrix(rows, dim, seed),
    loss: new Float64Array(rows),
    layers: [{ name: 'proj', offset: 0, size: dim }],
  });
}

test('projected Gauss-Newton influence equals a float64 explicit solve, also shard by shard', () => {
  const k = 12;
  const n = 90;
  const train = randomFeatures(n, k, 31);
  const query = randomFeatures(5, k, 32);
  const g = stored(train);
  const f = new Float64Array(k * k);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++) f[a * k + b] += (g[i * k + a] * g[i * k + b]) / n;
  let trace = 0;
  for (let a = 0; a < k; a++) trace += f[a * k + a];
  const lambda = (0.1 * trace) / k;
  for (let a = 0; a < k; a++) f[a * k + a] += lambda;
  const qg = stored(query);
  const ref = new Float64Array(5 * n);
  for (let q = 0; q < 5; q++) {
    const xq = solveDense(f, qg.subarray(q * k, (q + 1) * k), k);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += xq[a] * g[i * k + a];
      ref[q * n + i] = s;
    }
  }
  const curv = projectedCurvature(train);
  assert.ok(Math.abs(curv.damping - lambda) < 1e-12 * lambda);
  const s = projectedInfluence(train, query, curv);
  assert.ok(maxAbsDiff(s.data, ref) < 1e-10 * maxAbs(ref));
  // Curvature from merged shard partials, scores for one shard.
  const merged = mergeGramPartials(
    gramPartial(slice(train, 0, 40).grads),
    gramPartial(slice(train, 40, n).grads),
  );
  const curv2 = factorCurvature(merged);
  const part = scoreMethod('influenceProjected', {
    train: [slice(train, 40, n)],
    query: [query],
    checkpoints: [{ step: 0, learningRate: 1 }],
    options: { curvature: curv2 },
  });
  for (let q = 0; q < 5; q++)
    for (let j = 0; j < n - 40; j++)
      assert.ok(Math.abs(part.data[q * (n - 40) + j] - ref[q * n + 40 + j]) < 1e-10 * maxAbs(ref));
  assert.throws(() => factorCurvature(merged, { damping: -1 }), /damping must be finite/);
  const rankDeficient = randomFeatures(3, k, 33);
  assert.throws(() => projectedCurvature(rankDeficient, { damping: 0 }), /not positive definite/);
});

const d = 4;
const H = 6;
const C = 3;
const mdim = d * H + H + H * C + C;
const data = blobs(80, d, C, 41, 1.5);
const queries = blobs(6, d, C, 42, 1.5);
const mlpParams = randomMatrix(1, mdim, 43, 0.6);

test('DataInf equals the float64 formula; its passes merge across shards', () => {
  const train = pack(mlp(mlpParams, data.x, data.y, d, H, C));
  const query = pack(mlp(mlpParams, queries.x, queries.y, d, H, C));
  const ref = dataInfReference(train, query);
  const s = dataInf(train, query);
  assert.ok(maxAbsDiff(s.data, ref) < 1e-9 * maxAbs(ref));
  const a = slice(train, 0, 33);
  const b = slice(train, 33, 80);
  const lambdas = dataInfDamping(
    mergeDataInfDamping(dataInfDampingPartial(a), dataInfDampingPartial(b)),
  );
  const passOne = mergeDataInfPassOne(
    dataInfPassOne(a, query, lambdas),
    dataInfPassOne(b, query, lambdas),
  );
  // Pass-one partials survive a JSON round trip (as plain arrays).
  const wire = JSON.parse(JSON.stringify({ ...passOne, sum: Array.from(passOne.sum) }));
  const shipped = { ...wire, sum: Float64Array.from(wire.sum) };
  const partB = scoreMethod('dataInf', {
    train: [b],
    query: [query],
    checkpoints: [{ step: 0, learningRate: 1 }],
    options: { dataInf: { lambdas, passOne: shipped } },
  });
  for (let q = 0; q < 6; q++)
    for (let j = 0; j < 47; j++)
      assert.ok(Math.abs(partB.data[q * 47 + j] - ref[q * 80 + 33 + j]) < 1e-9 * maxAbs(ref));
  const u = dataInfPrecondition(query, passOne, lambdas);
  assert.ok(maxAbsDiff(scoresFromPreconditioned(u, train).data, ref) < 1e-9 * maxAbs(ref));
  const zero = pack({
    rows: 3,
    dim: mdim,
    grads: new Float64Array(3 * mdim),
    loss: new Float64Array(3),
    layers: train.grads.layers,
  });
  assert.throws(() => dataInf(zero, query), /zero gradients everywhere/);
  assert.throws(() => dataInfPassOne(train, query, [1]), /1 dampings for 2 layers/);
});

test('DataInf agrees with exact influence (correlations printed)', () => {
  // Softmax regression: exact influence with the true Hessian, damped like DataInf's mean λ.
  const p = randomMatrix(1, d * C + C, 44, 0.5);
  const lin = softmaxRegression(p, data.x, data.y, d, C);
  const train = pack(lin);
  const query = pack(softmaxRegression(p, queries.x, queries.y, d, C));
  const dim = lin.dim;
  const h = softmaxRegressionHessian(p, data.x, data.y, d, C);
  const [lambda] = dataInfDamping(dataInfDampingPartial(train));
  const hvp = (v: Float64Array) => {
    const out = new Float64Array(dim);
    for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) out[i] += h[i * dim + j] * v[j];
    return out;
  };
  const exact = influenceScores(
    train,
    query,
    (q) => conjugateGradient(hvp, q, { damping: lambda }).x,
  );
  const di = dataInf(train, query);
  const dot = gradDot(train, query);
  let pr = 0;
  let sp = 0;
  let prDot = 0;
  let spDot = 0;
  const n = 80;
  for (let q = 0; q < 6; q++) {
    const e = exact.data.subarray(q * n, (q + 1) * n);
    pr += pearson(di.data.subarray(q * n, (q + 1) * n), e) / 6;
    sp += spearman(di.data.subarray(q * n, (q + 1) * n), e) / 6;
    prDot += pearson(dot.data.subarray(q * n, (q + 1) * n), e) / 6;
    spDot += spearman(dot.data.subarray(q * n, (q + 1) * n), e) / 6;
  }
  console.log(
    `softmax regression, exact IF (λ = DataInf's ${lambda.toExponential(2)}) vs DataInf: Pearson ${pr.toFixed(3)}, Spearman ${sp.toFixed(3)}; vs Grad-Dot: Pearson ${prDot.toFixed(3)}, Spearman ${spDot.toFixed(3)}`,
  );
  assert.ok(pr > 0.5, `DataInf should track exact influence (Pearson ${pr})`);
});
