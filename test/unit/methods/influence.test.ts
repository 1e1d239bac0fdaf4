import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useTestBackend } from '../../support/backend';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ExampleFeatures } from '../../../lib/features';
import { conjugateGradient } from '../../../lib/methods/influence/conjugateGradient';
import { meanLossHvp } from '../../../lib/methods/influence/hvp';
import { influenceScores } from '../../../lib/methods/influence/influenceScores';
import { lissa } from '../../../lib/methods/influence/lissa';
import {
  blobs,
  maxAbs,
  maxAbsDiff,
  mlp,
  pack,
  randomMatrix,
  softmaxRegression,
  softmaxRegressionHessian,
  solveDense,
  stored,
} from './fixtures';

await useTestBackend();
const t2 = (a: ArrayLike<number>, shape: [number, number]) =>
  tf.tensor2d(Float32Array.from(a), shape);
const t1 = (a: ArrayLike<number>) => tf.tensor1d(Float32Array.from(a));

const d = 4;
const C = 3;
const dim = d * C + C;
const n = 50;
const data = blobs(n, d, C, 21, 1.5);
const queries = blobs(4, d, C, 22, 1.5);
const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
const x = f32(data.x);
const qx = f32(queries.x);
// Float32-representable weights, so the float64 reference sees the model's exact parameters.
const params = f32(randomMatrix(1, dim, 5, 0.7));

function softmaxModel(): tfl.Sequential {
  const m = tfl.sequential({
    layers: [tfl.layers.dense({ units: C, inputShape: [d], activation: 'softmax', name: 'dense' })],
  });
  m.layers[0].setWeights([t2(params.subarray(0, d * C), [d, C]), t1(params.subarray(d * C))]);
  return m;
}

function matVec(h: Float64Array, v: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[i] += h[i * k + j] * v[j];
  return out;
}

test('hvp of a Dense softmax model equals the explicit float64 Hessian times v', () => {
  const model = softmaxModel();
  const { hvp, dim: hdim, layers } = meanLossHvp(model, t2(x, [n, d]), data.y, { batchSize: 16 });
  assert.equal(hdim, dim);
  assert.deepEqual(layers, [{ name: 'dense', offset: 0, size: dim }]);
  const h = softmaxRegressionHessian(params, x, data.y, d, C);
  for (let s = 0; s < 3; s++) {
    const v = randomMatrix(1, dim, 100 + s);
    const ref = matVec(h, v, dim);
    const got = hvp(v);
    assert.ok(
      maxAbsDiff(got, ref) < 2e-6 * maxAbs(ref) * Math.sqrt(dim),
      `hvp error ${maxAbsDiff(got, ref)}`,
    );
  }
});

test('hvp of a tanh MLP equals float64 central differences of the closed-form gradient', () => {
  const Hd = 6;
  const mdim = d * Hd + Hd + Hd * C + C;
  const p = f32(randomMatrix(1, mdim, 9, 0.6));
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: Hd, inputShape: [d], activation: 'tanh', name: 'hidden' }),
      tfl.layers.dense({ units: C, activation: 'softmax', name: 'out' }),
    ],
  });
  const s1 = d * Hd + Hd;
  model.layers[0].setWeights([t2(p.subarray(0, d * Hd), [d, Hd]), t1(p.subarray(d * Hd, s1))]);
  model.layers[1].setWeights([
    t2(p.subarray(s1, s1 + Hd * C), [Hd, C]),
    t1(p.subarray(s1 + Hd * C)),
  ]);
  const meanGrad = (q: Float64Array) => {
    const g = mlp(q, x, data.y, d, Hd, C).grads;
    const out = new Float64Array(mdim);
    for (let i = 0; i < n; i++) for (let k = 0; k < mdim; k++) out[k] += g[i * mdim + k] / n;
    return out;
  };
  const v = randomMatrix(1, mdim, 77);
  const eps = 1e-5;
  const plus = meanGrad(p.map((w, k) => w + eps * v[k]));
  const minus = meanGrad(p.map((w, k) => w - eps * v[k]));
  const ref = plus.map((a, k) => (a - minus[k]) / (2 * eps));
  const { hvp, layers } = meanLossHvp(model, t2(x, [n, d]), data.y);
  assert.deepEqual(
    layers.map((l) => l.name),
    ['hidden', 'out'],
  );
  const got = hvp(v);
  assert.ok(
    maxAbsDiff(got, ref) < 1e-5 * maxAbs(ref) * 10,
    `MLP hvp error ${maxAbsDiff(got, ref)} of ${maxAbs(ref)}`,
  );
  // Restricted to the last layer: the matching sub-block of the full Hessian.
  const last = meanLossHvp(model, t2(x, [n, d]), data.y, { layers: ['out'] });
  const vOut = v.subarray(s1);
  const vFull = new Float64Array(mdim);
  vFull.set(vOut, s1);
  const refOut = (() => {
    const pp = meanGrad(p.map((w, k) => w + eps * vFull[k]));
    const mm = meanGrad(p.map((w, k) => w - eps * vFull[k]));
    return pp.map((a, k) => (a - mm[k]) / (2 * eps)).subarray(s1);
  })();
  assert.ok(maxAbsDiff(last.hvp(Float64Array.from(vOut)), refOut) < 1e-4 * maxAbs(refOut));
});

test('CG and LiSSA influence match a float64 explicit Hessian inverse', () => {
  const model = softmaxModel();
  const lambda = 0.01;
  const { hvp } = meanLossHvp(model, t2(x, [n, d]), data.y);
  const train = pack(softmaxRegression(params, x, data.y, d, C));
  const query = pack(softmaxRegression(params, qx, queries.y, d, C));
  const h = softmaxRegressionHessian(params, x, data.y, d, C);
  for (let k = 0; k < dim; k++) h[k * dim + k] += lambda;
  const tg = stored(train);
  const qg = stored(query);
  const ref = new Float64Array(4 * n);
  for (let q = 0; q < 4; q++) {
    const xq = solveDense(h, qg.subarray(q * dim, (q + 1) * dim), dim);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += xq[k] * tg[i * dim + k];
      ref[q * n + i] = s;
    }
  }
  const cg = influenceScores(
    train,
    query,
    (q) => conjugateGradient(hvp, q, { damping: lambda, tolerance: 1e-9, maxIterations: 200 }).x,
  );
  const li = influenceScores(
    train,
    query,
    (q) => lissa(hvp, q, { damping: lambda, depth: 3000, tolerance: 1e-10 }).x,
  );
  const scale = maxAbs(ref);
  console.log(
    `CG max rel error ${(maxAbsDiff(cg.data, ref) / scale).toExponential(2)}, LiSSA ${(maxAbsDiff(li.data, ref) / scale).toExponential(2)}`,
  );
  assert.ok(maxAbsDiff(cg.data, ref) < 1e-4 * scale);
  assert.ok(maxAbsDiff(li.data, ref) < 1e-3 * scale);
  // Without damping the singular softmax Hessian (rows of each class block sum to zero) would differ.
  const undamped = influenceScores(
    train,
    query,
    (q) => lissa(hvp, q, { damping: lambda * 10, depth: 500 }).x,
  );
  assert.ok(maxAbsDiff(undamped.data, ref) > 1e-3 * scale);
});

test('solvers reject bad input', () => {
  const id = (v: Float64Array) => v;
  assert.throws(() => conjugateGradient(id, new Float64Array(0)), /empty/);
  assert.throws(() => conjugateGradient(id, Float64Array.from([1, Number.NaN])), /non-finite/);
  assert.throws(
    () => conjugateGradient((v) => v.map((a) => -a), Float64Array.from([1, 2])),
    /not positive definite/,
  );
  assert.throws(() => lissa(id, Float64Array.from([1]), { scale: 0.1, depth: 3000 }), /diverged/);
  const model = softmaxModel();
  assert.throws(
    () =>
      meanLossHvp(
        model,
        t2(x, [n, d]),
        data.y.map(() => 7),
      ),
    /label 7 at row 0 outside \[0, 3\)/,
  );
  assert.throws(
    () => meanLossHvp(model, t2(x, [n, d]), data.y, { layers: ['nope'] }),
    /no Dense layer named 'nope'/,
  );
  const conv = tfl.sequential({
    layers: [
      tfl.layers.conv1d({ filters: 2, kernelSize: 2, inputShape: [4, 1] }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 }),
    ],
  });
  assert.throws(
    () => meanLossHvp(conv, tf.zeros([2, 4, 1]), [0, 1]),
    /unsupported layer type Conv1D/,
  );
  const { hvp } = meanLossHvp(model, t2(x, [n, d]), data.y);
  assert.throws(() => hvp(new Float64Array(3)), /length 3, expected 15/);
  const q: ExampleFeatures = pack(softmaxRegression(params, qx, queries.y, d, C));
  assert.throws(
    () =>
      influenceScores(
        pack(softmaxRegression(params, x, data.y, d, C)),
        q,
        () => new Float64Array(2),
      ),
    /solve returned length 2/,
  );
});
