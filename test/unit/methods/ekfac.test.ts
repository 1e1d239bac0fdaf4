import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { computeFactors, planModel } from '../../../lib/grad/factors';
import type { FactorBlock } from '../../../lib/grad/types';
import { symmetricEigen } from '../../../lib/linalg/symmetricEigen';
import { ekfacInfluence, ekfacSelfScores, fitEkfac } from '../../../lib/methods/influence/ekfac';
import { useTestBackend } from '../../support/backend';
import { randomizeWeights, randomLabels, randomTensor } from '../grad/naive';
import { maxRelErr, solveDense } from './fixtures';

/** Per-example gradient matrices G_i = Σ_t δ_t a_tᵀ (out × in, row-major) in float64. */
function gradients(b: FactorBlock): Float64Array[] {
  const { rows, positions: P, inDim, outDim } = b;
  const a = b.a as Float32Array;
  return Array.from({ length: rows }, (_, i) => {
    const g = new Float64Array(outDim * inDim);
    for (let t = 0; t < P; t++) {
      const r = i * P + t;
      for (let o = 0; o < outDim; o++) {
        for (let j = 0; j < inDim; j++)
          g[o * inDim + j] += b.delta[r * outDim + o] * a[r * inDim + j];
      }
    }
    return g;
  });
}

/**
 * The float64 reference: per layer, the explicit damped EK-FAC matrix
 * H = Σ_ij (Λ_ij + λ) e_ij e_ijᵀ with e_ij = vec(q_S,i q_A,jᵀ), Λ_ij = mean_n (e_ijᵀ vec G_n)²,
 * solved densely; scores are Σ_layers G_qᵀ H⁻¹ G_i.
 */
function reference(train: FactorBlock[], query: FactorBlock[], damping: number) {
  const nt = train[0].rows;
  const nq = query[0].rows;
  const scores = new Float64Array(nq * nt);
  const self = new Float64Array(nt);
  train.forEach((b, k) => {
    const { inDim: I, outDim: O, positions: P } = b;
    const a = b.a as Float32Array;
    const covA = new Float64Array(I * I);
    const covS = new Float64Array(O * O);
    for (let r = 0; r < nt * P; r++) {
      for (let i = 0; i < I; i++)
        for (let j = 0; j < I; j++) covA[i * I + j] += a[r * I + i] * a[r * I + j];
      for (let i = 0; i < O; i++) {
        for (let j = 0; j < O; j++) covS[i * O + j] += b.delta[r * O + i] * b.delta[r * O + j];
      }
    }
    const qA = symmetricEigen(covA, I).vectors;
    const qS = symmetricEigen(covS, O).vectors;
    const D = O * I;
    const basis = Array.from({ length: D }, (_, e) => {
      const [i, j] = [Math.floor(e / I), e % I];
      return Float64Array.from(
        { length: D },
        (_, p) => qS[Math.floor(p / I) * O + i] * qA[(p % I) * I + j],
      );
    });
    const gt = gradients(b);
    const gq = gradients(query[k]);
    const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, v, p) => s + v * y[p], 0);
    const lambda = basis.map((e) => gt.reduce((s, g) => s + dot(e, g) ** 2, 0) / nt);
    const lam = (damping * lambda.reduce((s, v) => s + v, 0)) / D;
    const h = new Float64Array(D * D);
    basis.forEach((e, n) => {
      for (let p = 0; p < D; p++)
        for (let q = 0; q < D; q++) h[p * D + q] += (lambda[n] + lam) * e[p] * e[q];
    });
    gq.forEach((g, q) => {
      const x = solveDense(h, g, D);
      gt.forEach((t, i) => {
        scores[q * nt + i] += dot(x, t);
      });
    });
    gt.forEach((t, i) => {
      self[i] += dot(solveDense(h, t, D), t);
    });
  });
  return { scores, self };
}

function check(model: tfl.LayersModel, inShape: number[], classes: number) {
  randomizeWeights(model, 3);
  const plan = planModel(model);
  const xs = randomTensor([30, ...inShape], 4);
  const ys = randomLabels(30, classes, 5);
  const qx = randomTensor([4, ...inShape], 6);
  const qy = randomLabels(4, classes, 7);
  // Two batches per pass: the fit must accumulate across batches.
  const batches = [0, 17].map((s) => {
    const e = s === 0 ? 17 : 30;
    return computeFactors(plan, tf.slice(xs, s, e - s), ys.subarray(s, e)).blocks;
  });
  const all = computeFactors(plan, xs, ys).blocks;
  const query = computeFactors(plan, qx, qy).blocks;
  const tensors = tf.memory().numTensors;
  const ekfac = fitEkfac(() => batches, { relativeDamping: 0.1 });
  const ref = reference(all, query, 0.1);
  const self = ekfacSelfScores(ekfac, all);
  const scores = ekfacInfluence(ekfac, query, all);
  // Every product's tensors freed, the fit's too (a worker scores shard after shard).
  assert.equal(tf.memory().numTensors, tensors, 'tensors left behind');
  assert.ok(maxRelErr(self, ref.self) < 2e-3, `self ${maxRelErr(self, ref.self)}`);
  assert.ok(
    maxRelErr(scores.data, ref.scores) < 2e-3,
    `scores ${maxRelErr(scores.data, ref.scores)}`,
  );
  // The damping matters: a much larger one changes the scores.
  const damped = ekfacSelfScores(
    fitEkfac(() => batches, { relativeDamping: 10 }),
    all,
  );
  assert.ok(maxRelErr(damped, ref.self) > 0.1);
  return ekfac;
}

test('EK-FAC self-influence and influence equal the float64 explicit-matrix reference (MLP)', async () => {
  await useTestBackend();
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'h' }),
      tfl.layers.dense({ units: 3, name: 'out' }),
    ],
  });
  const ekfac = check(model, [6], 3);
  assert.deepEqual(
    ekfac.layers.map((l) => [l.name, l.outDim, l.inDim]),
    [
      ['h', 5, 7],
      ['out', 3, 6],
    ],
  );
});

test('EK-FAC over Conv2D patches (several positions per example)', async () => {
  await useTestBackend();
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [5, 5, 1],
        filters: 2,
        kernelSize: 3,
        activation: 'relu',
        name: 'c',
      }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, name: 'out' }),
    ],
  });
  const ekfac = check(model, [5, 5, 1], 3);
  assert.equal(ekfac.layers[0].name, 'c');
});

test('EK-FAC refuses blocks that do not match its layers, NaN factors and one-hot inputs', async () => {
  await useTestBackend();
  const block = (name: string, a?: Float32Array): FactorBlock => ({
    name,
    layer: name,
    layerType: a ? 'Dense' : 'Embedding',
    rows: 2,
    positions: 1,
    inDim: 2,
    outDim: 1,
    a,
    tokens: a ? undefined : Int32Array.of(0, 1),
    delta: Float32Array.of(1, 2),
    params: [],
  });
  const ok = block('d', Float32Array.of(1, 0, 0, 1));
  const ekfac = fitEkfac(() => [[ok]]);
  assert.throws(
    () => ekfacSelfScores(ekfac, [block('other', Float32Array.of(1, 0, 0, 1))]),
    /do not match the fitted layers \[d\]/,
  );
  assert.throws(
    () => fitEkfac(() => [[block('d', Float32Array.of(1, Number.NaN, 0, 1))]]),
    /NaN or infinite/,
  );
  // Self-scores check each product's rows: a bad factor past the first product's rows is found.
  const rows = 2500;
  const big = (bad: number): FactorBlock => {
    const delta = new Float32Array(rows).fill(1);
    delta[bad] = Number.POSITIVE_INFINITY;
    return { ...block('d', new Float32Array(rows * 2).fill(0.5)), rows, delta };
  };
  for (const bad of [0, 1500, rows - 1]) {
    assert.throws(() => ekfacSelfScores(ekfac, [big(bad)]), /"d" has a NaN or infinite factor/);
  }
  assert.throws(() => fitEkfac(() => [[block('e')]]), /layer "e" \(Embedding\) has one-hot inputs/);
  assert.throws(() => fitEkfac(() => []), /no training examples/);
});
