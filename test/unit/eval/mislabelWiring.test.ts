import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { flipLabels } from '../../../lib/data/labelNoise';
import {
  type MislabelBenchmarkInput,
  mislabelBenchmark,
  trainMislabelModel,
} from '../../../lib/eval/mislabelBenchmark';
import { initBackend } from '../../../lib/tf/backend';
import { writeWeights } from '../../../lib/train/trainer';
import { blobs } from '../../support/tinyRun';

/**
 * Each ranking bench:mislabel reports is wired to its definition: the scores it ranks by equal a
 * float64 computation from naive per-example autodiff on the same checkpoints (exact features,
 * so no projection stands between them). A swapped array, a wrong checkpoint or learning rate, a
 * missing damping term fails here even where the ranking would still find the flips. DataInf and
 * EK-FAC have their own reference tests (test/unit/methods); their wiring here is not checked.
 */

/** Per-example loss and flattened gradient (float64) at the model's current weights. */
function naive(model: tfl.LayersModel, xs: tf.Tensor2D, labels: Int32Array, classes: number) {
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const grads: Float64Array[] = [];
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
      grads.push(Float64Array.from(vars.flatMap((v) => [...g[v.name].dataSync()])));
    });
  }
  return { grads, losses };
}

/** x (F + λI)⁻¹ x for every row, F = (1/n) Σ g gᵀ, λ = 0.1 × trace(F)/k, by Gauss-Jordan. */
function dampedSelf(grads: Float64Array[]): Float64Array {
  const n = grads.length;
  const k = grads[0].length;
  const a = Array.from({ length: k }, () => new Float64Array(k));
  for (const g of grads)
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
      for (let i = 0; i < n; i++) rhs[r][i] -= f * rhs[p][i];
    }
  }
  return Float64Array.from(grads, (g, i) =>
    g.reduce((s, v, r) => s + (v * rhs[r][i]) / a[r][r], 0),
  );
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

test('bench:mislabel wiring: loss, Grad-Dot, TracIn-CP (exact and "projected" by none) and both influence self-scores equal their definitions', async () => {
  await initBackend('cpu', () => {});
  const clean = blobs('blobs', 90, 5, 3);
  clean.labels = Int32Array.from({ length: clean.rows }, (_, i) => i % 3);
  const ds = flipLabels(clean, 0.1, 9);
  const x = tf.tensor2d(ds.x as Float32Array, [ds.rows, 5]);
  const input: MislabelBenchmarkInput = {
    dataset: 'wiring',
    x,
    labels: ds.labels,
    flipped: ds.flipped as Uint8Array,
    makeModel: () =>
      tfl.sequential({
        name: 'w',
        layers: [
          tfl.layers.dense({
            name: 'h',
            inputShape: [5],
            units: 4,
            activation: 'tanh',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }),
          }),
          tfl.layers.dense({
            name: 'o',
            units: 3,
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }),
          }),
        ],
      }),
    // Several checkpoints along training (not only θ_f), each weighted by its learning rate.
    train: { optimizer: { kind: 'sgd' }, learningRate: 0.3, batchSize: 15, seed: 6 },
    epochs: 3,
    checkpointEvery: 6,
    projector: { kind: 'none' },
    methods: [
      'loss',
      'gradDotSelf',
      'tracInSelf',
      'tracInSelfProjected',
      'influenceSelf',
      'influenceSelfCheckpoints',
    ],
  };
  const trained = await trainMislabelModel(input);
  const scores = new Map<string, Float64Array>();
  try {
    await mislabelBenchmark(
      { ...input, onScores: (m, s) => scores.set(m, Float64Array.from(s)) },
      trained,
    );
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
    assertClose(scores.get('tracInSelf'), tracIn, 'TracIn-CP Σ η_c ‖g_c‖²');
    assertClose(scores.get('tracInSelfProjected'), tracIn, 'TracIn-CP, identity projection');
    assertClose(scores.get('influenceSelf'), dampedSelf(fin.grads), 'influence gᵀ(F+λI)⁻¹g at θ_f');
    assertClose(
      scores.get('influenceSelfCheckpoints'),
      ifCkpt,
      'influence Σ η_c g_cᵀ(F_c+λ_c I)⁻¹g_c',
    );
  } finally {
    trained.model.dispose();
    x.dispose();
  }
});
