import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  type MislabelBenchmarkInput,
  mislabelBenchmark,
  tensorDataset,
  trainMislabelModel,
} from '../../../lib/eval/mislabelBenchmark';
import { FISHER_SEEDS, SELF_SCORERS } from '../../../lib/eval/selfScorers';
import { symmetricEigen } from '../../../lib/linalg/symmetricEigen';
import { sampledDatasetLabels } from '../../../lib/pipeline/datasetFactors';
import { initBackend } from '../../../lib/tf/backend';
import { writeWeights } from '../../../lib/train/trainer';
import { flippedBlobs, tanhMlp } from '../../support/mislabelFixture';

/**
 * Each ranking bench:mislabel reports is wired to its definition: the scores it ranks by equal a
 * float64 computation from naive per-example autodiff on the same checkpoints (exact features,
 * so no projection stands between them). A swapped array, a wrong checkpoint or learning rate, a
 * missing damping term, a Fisher fitted on the wrong labels fails here even where the ranking
 * would still find the flips. DataInf and EK-FAC's own arithmetic is checked against explicit
 * matrices in test/unit/methods; here, that the benchmark feeds them the right gradients.
 */

/** Per-example loss and flattened gradient (float64) at the model's current weights. */
function naive(model: tfl.LayersModel, xs: tf.Tensor2D, labels: Int32Array, classes: number) {
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const grads: Float64Array[] = [];
  /** Per example, each variable's gradient (kernel, bias of each layer in order). */
  const perVariable: Float64Array[][] = [];
  const losses: number[] = [];
  for (let i = 0; i < xs.shape[0]; i++) {
    tf.tidy(() => {
      const x = tf.slice(xs, i, 1);
      const { value, grads: g } = tf.variableGrads(() => {
        const logits = model.apply(x) as tf.Tensor;
        const y = tf.oneHot([labels[i]], classes);
        return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)))) as tf.Scalar;
      }, vars);
      losses.push(value.dataSync()[0]);
      const own = vars.map((v) => Float64Array.from(g[v.name].dataSync()));
      perVariable.push(own);
      grads.push(Float64Array.from(own.flatMap((v) => [...v])));
    });
  }
  return { grads, perVariable, losses };
}

/**
 * g (F + λI)⁻¹ g for every row g of `grads`, F = (1/n) Σ f fᵀ over the rows f of `fit`,
 * λ = 0.1 × trace(F)/k, by Gauss-Jordan.
 */
function dampedSelf(grads: Float64Array[], fit = grads): Float64Array {
  const n = fit.length;
  const k = grads[0].length;
  const a = Array.from({ length: k }, () => new Float64Array(k));
  for (const g of fit)
    for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) a[r][c] += (g[r] * g[c]) / n;
  let trace = 0;
  for (let r = 0; r < k; r++) trace += a[r][r];
  for (let r = 0; r < k; r++) a[r][r] += (0.1 * trace) / k;
  // Solve for all right-hand sides at once: [A | G ᵀ] → [I | A⁻¹Gᵀ].
  const rhs = Array.from({ length: k }, (_, r) => Float64Array.from(grads, (g) => g[r]));
  for (let p = 0; p < k; p++) {
    let best = p;
    for (let r = p + 1; r < k; r++) if (Math.abs(a[r][p]) > Math.abs(a[best][p])) best = r;
    [a[p], a[best]] = [a[best], a[p]];
    [rhs[p], rhs[best]] = [rhs[best], rhs[p]];
    for (let r = 0; r < k; r++) {
      if (r === p) continue;
      const f = a[r][p] / a[p][p];
      if (f === 0) continue;
      for (let c = p; c < k; c++) a[r][c] -= f * a[p][c];
      for (let i = 0; i < grads.length; i++) rhs[r][i] -= f * rhs[p][i];
    }
  }
  return Float64Array.from(grads, (g, i) =>
    g.reduce((s, v, r) => s + (v * rhs[r][i]) / a[r][r], 0),
  );
}

/**
 * DataInf's self-score per layer l, λ_l = 0.1 · mean_j ‖g_lj‖² / d_l:
 * Σ_l (1/λ_l)(‖g_li‖² − (1/n) Σ_j (g_li·g_lj)² / (λ_l + ‖g_lj‖²)). `layers`: per example, its
 * gradient of each layer.
 */
function dataInfSelf(layers: Float64Array[][]): Float64Array {
  const n = layers.length;
  const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, v, p) => s + v * y[p], 0);
  const out = new Float64Array(n);
  layers[0].forEach((first, l) => {
    const sq = layers.map((g) => dot(g[l], g[l]));
    const lambda = (0.1 * sq.reduce((s, v) => s + v, 0)) / (n * first.length);
    for (let i = 0; i < n; i++) {
      let inner = 0;
      for (let j = 0; j < n; j++) inner += dot(layers[i][l], layers[j][l]) ** 2 / (lambda + sq[j]);
      out[i] += (sq[i] - inner / n) / lambda;
    }
  });
  return out;
}

/**
 * EK-FAC's self-score for Dense layers from per-example layer inputs ã = [a; 1] and output
 * gradients δ (G = δ ãᵀ): the eigenbases Q_A of Σ ã ãᵀ and Q_S of Σ δ_fit δ_fitᵀ, the refitted
 * eigenvalues Λ_pq = mean (q_S,pᵀ δ_fit)²(q_A,qᵀ ã)², λ = 0.1 · mean Λ per layer, and
 * Σ_pq (q_S,pᵀ δ)²(q_A,qᵀ ã)² / (Λ_pq + λ) summed over layers. `fit`: δ with the curvature's labels.
 */
function ekfacSelf(
  layers: { a: Float64Array[]; delta: Float64Array[]; fit: Float64Array[] }[],
): Float64Array {
  const n = layers[0].a.length;
  const out = new Float64Array(n);
  const cov = (rows: Float64Array[]) => {
    const d = rows[0].length;
    const c = new Float64Array(d * d);
    for (const r of rows)
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j] += r[i] * r[j];
    return { d, vectors: symmetricEigen(c, d).vectors };
  };
  // Coordinates of each row in the eigenbasis (column p of `vectors` is eigenvector p).
  const rotate = ({ d, vectors }: { d: number; vectors: ArrayLike<number> }, r: Float64Array) =>
    Float64Array.from({ length: d }, (_, p) =>
      r.reduce((s, v, k) => s + v * vectors[k * d + p], 0),
    );
  for (const { a, delta, fit } of layers) {
    const qa = cov(a);
    const qs = cov(fit);
    const v = a.map((r) => rotate(qa, r));
    const uFit = fit.map((r) => rotate(qs, r));
    const u = delta.map((r) => rotate(qs, r));
    const lambda = new Float64Array(qs.d * qa.d);
    for (let i = 0; i < n; i++)
      for (let p = 0; p < qs.d; p++)
        for (let q = 0; q < qa.d; q++) lambda[p * qa.d + q] += (uFit[i][p] * v[i][q]) ** 2 / n;
    const damping = (0.1 * lambda.reduce((s, x) => s + x, 0)) / lambda.length;
    for (let i = 0; i < n; i++)
      for (let p = 0; p < qs.d; p++)
        for (let q = 0; q < qa.d; q++)
          out[i] += (u[i][p] * v[i][q]) ** 2 / (lambda[p * qa.d + q] + damping);
  }
  return out;
}

function assertClose(got: Float64Array | undefined, want: ArrayLike<number>, what: string) {
  assert.ok(got, `${what}: no scores reported`);
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const rel = Math.abs(got[i] - want[i]) / Math.max(1e-6, Math.abs(want[i]));
    worst = Math.max(worst, rel);
  }
  assert.ok(worst <= 2e-4, `${what}: worst relative difference ${worst}`);
}

test('bench:mislabel wiring: every ranking (loss, Grad-Dot, TracIn-CP exact and "projected" by none, both influence self-scores, DataInf, EK-FAC on either Fisher) equals its definition', async () => {
  await initBackend('cpu', () => {});
  const { ds, x } = flippedBlobs(90, 5, 3, 9);
  const input: MislabelBenchmarkInput = {
    dataset: 'wiring',
    x,
    labels: ds.labels,
    flipped: ds.flipped as Uint8Array,
    makeModel: () => tanhMlp(5, 4, [4, 5]),
    // Several checkpoints along training (not only θ_f), each weighted by its learning rate.
    train: { optimizer: { kind: 'sgd' }, learningRate: 0.3, batchSize: 15, seed: 6 },
    epochs: 3,
    checkpointEvery: 6,
    projector: { kind: 'none' },
    ekfac: { fisher: 'empirical' },
    methods: [...SELF_SCORERS],
  };
  const trained = await trainMislabelModel(input);
  const scores = new Map<string, Float64Array>();
  const keep = (m: string, s: Float64Array) => scores.set(m, Float64Array.from(s));
  try {
    await mislabelBenchmark({ ...input, onScores: keep }, trained);
    const { model, saved } = trained;
    assert.ok(saved.length >= 3, `${saved.length} checkpoints`);
    const tracIn = new Float64Array(ds.rows);
    const ifCkpt = new Float64Array(ds.rows);
    let last: ReturnType<typeof naive> | undefined;
    for (const c of saved) {
      writeWeights(model, c.weights);
      last = naive(model, x, ds.labels, 3);
      const own = dampedSelf(last.grads);
      last.grads.forEach((g, i) => {
        tracIn[i] += c.learningRate * g.reduce((s, v) => s + v * v, 0);
        ifCkpt[i] += c.learningRate * own[i];
      });
    }
    const fin = last as ReturnType<typeof naive>;
    assertClose(scores.get('loss'), fin.losses, 'loss at θ_f');
    assertClose(
      scores.get('gradDotSelf'),
      fin.grads.map((g) => g.reduce((s, v) => s + v * v, 0)),
      'Grad-Dot ‖g(θ_f)‖²',
    );
    assertClose(scores.get('tracinSelf'), tracIn, 'TracIn-CP Σ η_c ‖g_c‖²');
    assertClose(scores.get('tracinSelfProjected'), tracIn, 'TracIn-CP, identity projection');
    assertClose(scores.get('influenceSelf'), dampedSelf(fin.grads), 'influence gᵀ(F+λI)⁻¹g at θ_f');
    assertClose(
      scores.get('influenceSelfCheckpoints'),
      ifCkpt,
      'influence Σ η_c g_cᵀ(F_c+λ_c I)⁻¹g_c',
    );
    // Per layer (h, o): its kernel and bias gradients, its input ã = [a; 1] and δ = the bias gradient.
    const byLayer = (g: Float64Array[]) =>
      [0, 1].map((l) => Float64Array.from([...g[2 * l], ...g[2 * l + 1]]));
    assertClose(
      scores.get('dataInfSelf'),
      dataInfSelf(fin.perVariable.map(byLayer)),
      'DataInf at θ_f',
    );
    const hidden = (model.layers[0].apply(x) as tf.Tensor).arraySync() as number[][];
    const inputs = (x.arraySync() as number[][]).map((r, i) => [
      Float64Array.from([...r, 1]),
      Float64Array.from([...hidden[i], 1]),
    ]);
    const ekfacLayers = (fit: ReturnType<typeof naive>) =>
      [0, 1].map((l) => ({
        a: inputs.map((r) => r[l]),
        delta: fin.perVariable.map((g) => g[2 * l + 1]),
        fit: fit.perVariable.map((g) => g[2 * l + 1]),
      }));
    assertClose(scores.get('ekfacSelf'), ekfacSelf(ekfacLayers(fin)), 'EK-FAC, empirical Fisher');

    // The true Fisher (the defaults for EK-FAC; asked for the projected influence function):
    // the curvature's gradients take the labels the benchmark draws from the model at θ_f.
    scores.clear();
    await mislabelBenchmark(
      {
        ...input,
        ekfac: {},
        curvature: { fisher: 'sampled' },
        methods: ['ekfacSelf', 'influenceSelf'],
        onScores: keep,
      },
      trained,
    );
    const train = tensorDataset('wiring', x, ds.labels);
    const drawn = (seed: number) => {
      const labels = sampledDatasetLabels(model, train, 512, seed);
      assert.ok(
        labels.some((y, i) => y !== ds.labels[i]),
        'some drawn labels differ',
      );
      return naive(model, x, labels, 3);
    };
    assertClose(
      scores.get('ekfacSelf'),
      ekfacSelf(ekfacLayers(drawn(FISHER_SEEDS.ekfacSelf))),
      'EK-FAC, true Fisher',
    );
    assertClose(
      scores.get('influenceSelf'),
      dampedSelf(fin.grads, drawn(FISHER_SEEDS.influenceSelf).grads),
      'influence at θ_f, true Fisher',
    );
  } finally {
    trained.model.dispose();
    x.dispose();
  }
});
