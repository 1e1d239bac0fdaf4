import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conjugateGradient } from '../../../lib/methods/influence/conjugateGradient';
import { influenceScores } from '../../../lib/methods/influence/influenceScores';
import { blobs, pack, softmaxRegression, softmaxRegressionHessian, solveDense } from './fixtures';

const d = 2;
const C = 3;
const dim = d * C + C;
const mu = 0.05;

/** Minimises (1/n) Σ ℓ_i + (μ/2)‖θ‖² by Newton's method in float64. */
function train(x: Float64Array, y: Int32Array): Float64Array {
  let theta = new Float64Array(dim);
  for (let it = 0; it < 100; it++) {
    const per = softmaxRegression(theta, x, y, d, C);
    const g = new Float64Array(dim);
    for (let i = 0; i < y.length; i++)
      for (let k = 0; k < dim; k++) g[k] += per.grads[i * dim + k] / y.length;
    for (let k = 0; k < dim; k++) g[k] += mu * theta[k];
    const h = softmaxRegressionHessian(theta, x, y, d, C);
    for (let k = 0; k < dim; k++) h[k * dim + k] += mu;
    const step = solveDense(h, g, dim);
    theta = theta.map((t, k) => t - step[k]);
    if (Math.sqrt(step.reduce((a, b) => a + b * b, 0)) < 1e-13) break;
  }
  return theta;
}

function without(x: Float64Array, y: Int32Array, i: number) {
  const keep = [...y.keys()].filter((j) => j !== i);
  return {
    x: Float64Array.from(keep.flatMap((j) => [x[j * d], x[j * d + 1]])),
    y: Int32Array.from(keep.map((j) => y[j])),
  };
}

test('removing the top proponent raises the query loss; removing the top opponent lowers it', () => {
  const data = blobs(45, d, C, 61, 1.6);
  const q = blobs(3, d, C, 62, 1.6);
  const theta = train(data.x, data.y);
  const n = data.y.length;
  const h = softmaxRegressionHessian(theta, data.x, data.y, d, C);
  const hvp = (v: Float64Array) => {
    const out = new Float64Array(dim);
    for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) out[i] += h[i * dim + j] * v[j];
    return out;
  };
  const scores = influenceScores(
    pack(softmaxRegression(theta, data.x, data.y, d, C)),
    pack(softmaxRegression(theta, q.x, q.y, d, C)),
    (v) => conjugateGradient(hvp, v, { damping: mu, tolerance: 1e-12 }).x,
  );
  for (let query = 0; query < 3; query++) {
    const qx = q.x.subarray(query * d, (query + 1) * d);
    const qy = q.y.subarray(query, query + 1);
    const lossAt = (t: Float64Array) => softmaxRegression(t, qx, qy, d, C).loss[0];
    const base = lossAt(theta);
    const row = scores.data.subarray(query * n, (query + 1) * n);
    let pro = 0;
    let opp = 0;
    for (let i = 1; i < n; i++) {
      if (row[i] > row[pro]) pro = i;
      if (row[i] < row[opp]) opp = i;
    }
    assert.ok(row[pro] > 0 && row[opp] < 0);
    const rp = without(data.x, data.y, pro);
    const ro = without(data.x, data.y, opp);
    const dPro = lossAt(train(rp.x, rp.y)) - base;
    const dOpp = lossAt(train(ro.x, ro.y)) - base;
    console.log(
      `query ${query}: remove proponent Δloss ${dPro.toExponential(3)} (predicted ${(row[pro] / n).toExponential(3)}), remove opponent ${dOpp.toExponential(3)} (predicted ${(row[opp] / n).toExponential(3)})`,
    );
    assert.ok(dPro > 0, `removing the top proponent should raise the loss (Δ ${dPro})`);
    assert.ok(dOpp < 0, `removing the top opponent should lower the loss (Δ ${dOpp})`);
  }
});
