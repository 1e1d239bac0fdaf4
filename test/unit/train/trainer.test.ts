import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FsStore } from '../../../lib/store/fsStore';
import { batchIndices } from '../../../lib/train/batchOrder';
import type { OptimizerConfig } from '../../../lib/train/optimizer';
import { evaluateTestFunction } from '../../../lib/train/testFunction';
import { readWeights, resume, train } from '../../../lib/train/trainer';
import {
  deserializeTrainState,
  loadTrainState,
  saveTrainState,
  serializeTrainState,
  type TrainConfig,
} from '../../../lib/train/trainState';
import { trainWithCheckpoints } from '../../../lib/train/trainWithCheckpoints';
import { gaussianData, maxAbsDiff, mlp, tf, tfl } from './helpers';

await tf.setBackend('cpu');

function flat(model: tfl.LayersModel): Float32Array {
  const ws = readWeights(model);
  const out = new Float32Array(ws.reduce((s, w) => s + w.data.length, 0));
  let o = 0;
  for (const w of ws) {
    out.set(w.data, o);
    o += w.data.length;
  }
  return out;
}

const data = gaussianData(37, 6, 3, 5);
const x = tf.tensor2d(data.x, [37, 6]);

for (const optimizer of [
  { kind: 'sgd' },
  { kind: 'momentum', momentum: 0.9 },
  { kind: 'adam' },
] as OptimizerConfig[]) {
  test(`resumed run equals the uninterrupted one bit for bit (${optimizer.kind}, dropout)`, async () => {
    const config: TrainConfig = { optimizer, learningRate: 0.05, batchSize: 8, seed: 42 };
    const weights = new Float32Array(37).fill(1);
    weights[3] = 0;
    weights[7] = 1.5;
    const d = { x, labels: data.y, weights };
    const a = mlp(6, 10, 3, { dropout: 0.4, seed: 1 });
    await train(a, d, config, 13);

    const b = mlp(6, 10, 3, { dropout: 0.4, seed: 1 });
    const mid = await train(b, d, config, 5);
    const bytes = serializeTrainState(mid);
    // A fresh model with a different initialisation: everything must come from the state.
    const c = mlp(6, 10, 3, { dropout: 0.4, seed: 2 });
    const back = deserializeTrainState(bytes);
    assert.equal(back.step, 5);
    assert.deepEqual(back.rng, { algorithm: 'philox4x32-10', seed: 42, step: 5 });
    await resume(c, d, back, 13);
    const diff = maxAbsDiff(flat(a), flat(c));
    assert.equal(diff, 0, `max |Δθ| = ${diff}`);
    // And training moved the weights (the comparison is not vacuous).
    assert.ok(maxAbsDiff(flat(a), flat(mlp(6, 10, 3, { dropout: 0.4, seed: 1 }))) > 1e-3);
  });
}

test('checkpoints go to an object store every few steps and resume from there', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tda-train-'));
  try {
    const store = new FsStore(dir);
    const config: TrainConfig = {
      optimizer: { kind: 'adam' },
      learningRate: 0.01,
      batchSize: 10,
      seed: 3,
    };
    const d = { x, labels: data.y };
    const a = mlp(6, 8, 3, { dropout: 0.2 });
    await train(a, d, config, 11);
    const b = mlp(6, 8, 3, { dropout: 0.2 });
    const saved: number[] = [];
    // Simulate a crash after step 7: the hook throws after saving the checkpoint at step 6.
    await assert.rejects(
      train(b, d, config, 11, {
        checkpointEvery: 3,
        onCheckpoint: async (s) => {
          saved.push(s.step);
          await saveTrainState(store, 'run/state', s);
        },
        onStep: ({ step }) => {
          if (step === 7) throw new Error('worker crashed');
        },
      }),
      /crashed/,
    );
    assert.deepEqual(saved, [3, 6]);
    const state = await loadTrainState(store, 'run/state');
    assert.ok(state);
    assert.equal(state.step, 6);
    const c = mlp(6, 8, 3, { dropout: 0.2, seed: 9 });
    const steps: number[] = [];
    await resume(c, d, state, 11, { onStep: ({ step }) => void steps.push(step) });
    assert.deepEqual(steps, [7, 8, 9, 10, 11]);
    assert.equal(maxAbsDiff(flat(a), flat(c)), 0);
    assert.equal(await loadTrainState(store, 'run/none'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('baseline and removal runs share batches and dropout masks (common random numbers)', async () => {
  const config: TrainConfig = {
    optimizer: { kind: 'sgd' },
    learningRate: 0.5,
    batchSize: 6,
    seed: 11,
  };
  const first = new Set(batchIndices(11, 0, 37, 6));
  const outside = [...Array(37).keys()].find((i) => !first.has(i))!;
  const inside = [...first][0];
  const run = async (removed: number | undefined, seed = 11) => {
    const w = new Float32Array(37).fill(1);
    if (removed !== undefined) w[removed] = 0;
    const m = mlp(6, 16, 3, { dropout: 0.5 });
    await train(m, { x, labels: data.y, weights: w }, { ...config, seed }, 1);
    return flat(m);
  };
  const base = await run(undefined);
  // Removing an example that is not in the first batch changes nothing at step 1: same batch,
  // same masks for every other example (tfjs's own dropout would draw fresh masks per run).
  assert.equal(maxAbsDiff(base, await run(outside)), 0);
  assert.equal(maxAbsDiff(base, await run(undefined)), 0);
  assert.ok(maxAbsDiff(base, await run(inside)) > 1e-4);
  assert.ok(maxAbsDiff(base, await run(undefined, 12)) > 1e-4);
});

// ---- float64 reference: full-batch softmax regression trained by hand ----

interface RefOpts {
  optimizer: OptimizerConfig;
  lr: number;
  steps: number;
  weights: Float64Array;
  denom: 'batchSize' | 'weightSum';
}

function referenceSoftmaxRegression(
  X: Float32Array,
  y: Int32Array,
  d: number,
  k: number,
  W0: Float64Array,
  b0: Float64Array,
  o: RefOpts,
): Float64Array {
  const n = y.length;
  const theta = new Float64Array(d * k + k);
  theta.set(W0, 0);
  theta.set(b0, d * k);
  const m = new Float64Array(theta.length);
  const v = new Float64Array(theta.length);
  const p = new Float64Array(k);
  for (let t = 1; t <= o.steps; t++) {
    const g = new Float64Array(theta.length);
    let wsum = 0;
    for (let i = 0; i < n; i++) wsum += o.weights[i];
    const denom = o.denom === 'weightSum' ? wsum : n;
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let c = 0; c < k; c++) {
        let z = theta[d * k + c];
        for (let j = 0; j < d; j++) z += X[i * d + j] * theta[j * k + c];
        p[c] = z;
        mx = Math.max(mx, z);
      }
      let s = 0;
      for (let c = 0; c < k; c++) s += p[c] = Math.exp(p[c] - mx);
      for (let c = 0; c < k; c++) {
        const delta = ((p[c] / s - (c === y[i] ? 1 : 0)) * o.weights[i]) / denom;
        for (let j = 0; j < d; j++) g[j * k + c] += X[i * d + j] * delta;
        g[d * k + c] += delta;
      }
    }
    const opt = o.optimizer;
    for (let q = 0; q < theta.length; q++) {
      if (opt.kind === 'sgd') theta[q] -= o.lr * g[q];
      else if (opt.kind === 'momentum') {
        v[q] = opt.momentum * v[q] + g[q];
        theta[q] -= o.lr * v[q];
      } else {
        m[q] = 0.9 * m[q] + 0.1 * g[q];
        v[q] = 0.999 * v[q] + 0.001 * g[q] * g[q];
        const mh = m[q] / (1 - 0.9 ** t);
        const vh = v[q] / (1 - 0.999 ** t);
        theta[q] -= (o.lr * mh) / (Math.sqrt(vh) + 1e-8);
      }
    }
  }
  return theta;
}

function logistic(d: number, k: number, softmax: boolean): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({
      inputShape: [d],
      units: k,
      activation: softmax ? 'softmax' : 'linear',
      kernelInitializer: tfl.initializers.randomNormal({ stddev: 0.3, seed: 4 }),
      biasInitializer: tfl.initializers.randomNormal({ stddev: 0.3, seed: 5 }),
    }),
  );
  return m;
}

for (const [optimizer, denom, softmax] of [
  [{ kind: 'sgd' }, 'batchSize', false],
  [{ kind: 'sgd' }, 'weightSum', true],
  [{ kind: 'momentum', momentum: 0.8 }, 'batchSize', true],
  [{ kind: 'adam' }, 'weightSum', false],
] as Array<[OptimizerConfig, 'batchSize' | 'weightSum', boolean]>) {
  test(`full batch, weight 0 = training without the example (${optimizer.kind}, ${denom}, ${softmax ? 'softmax' : 'logits'})`, async () => {
    const n = 20;
    const d = 4;
    const k = 3;
    const { x: X, y } = gaussianData(n, d, k, 8);
    const removed = 6;
    const model = logistic(d, k, softmax);
    const [W0, b0] = readWeights(model).map((w) => Float64Array.from(w.data));
    const w = new Float32Array(n).fill(1);
    w[removed] = 0;
    const lr = optimizer.kind === 'adam' ? 0.05 : 0.5;
    await train(
      model,
      { x: tf.tensor2d(X, [n, d]), labels: y, weights: w },
      { optimizer, learningRate: lr, batchSize: n, seed: 1, normalize: denom },
      25,
    );
    // Reference trains on the set without the example; with 'batchSize' normalisation the
    // denominator stays n (the baseline batch size), with 'weightSum' it is n − 1.
    const keep = [...Array(n).keys()].filter((i) => i !== removed);
    const Xr = new Float32Array(keep.length * d);
    keep.forEach((i, r) => {
      Xr.set(X.subarray(i * d, (i + 1) * d), r * d);
    });
    const yr = Int32Array.from(keep, (i) => y[i]);
    const scale = denom === 'batchSize' ? (n - 1) / n : 1;
    const ref = referenceSoftmaxRegression(Xr, yr, d, k, W0, b0, {
      optimizer,
      lr,
      steps: 25,
      weights: new Float64Array(n - 1).fill(scale),
      denom: denom === 'batchSize' ? 'batchSize' : 'weightSum',
    });
    const diff = maxAbsDiff(flat(model), ref);
    assert.ok(diff < 2e-5, `max |θ − θ_ref| = ${diff}`);
    assert.ok(maxAbsDiff(ref, [...W0, ...b0]) > 0.1);
  });
}

test('test functions match a float64 reference', () => {
  const model = logistic(4, 3, true);
  const { x: X, y } = gaussianData(5, 4, 3, 2);
  const [W, b] = readWeights(model).map((w) => w.data);
  const loss = evaluateTestFunction(model, { x: tf.tensor2d(X, [5, 4]), labels: y });
  const logit = evaluateTestFunction(
    model,
    { x: tf.tensor2d(X, [5, 4]) },
    { kind: 'logit', classes: 1 },
  );
  const prob = evaluateTestFunction(
    model,
    { x: tf.tensor2d(X, [5, 4]) },
    { kind: 'probability', classes: Int32Array.from([0, 1, 2, 0, 1]) },
  );
  for (let i = 0; i < 5; i++) {
    const z = [0, 1, 2].map((c) => {
      let s = b[c];
      for (let j = 0; j < 4; j++) s += X[i * 4 + j] * W[j * 3 + c];
      return s;
    });
    const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    assert.ok(Math.abs(loss[i] - (lse - z[y[i]])) < 1e-5);
    assert.ok(Math.abs(logit[i] - z[1]) < 1e-5);
    assert.ok(Math.abs(prob[i] - Math.exp(z[[0, 1, 2, 0, 1][i]] - lse)) < 1e-6);
  }
  assert.throws(() => evaluateTestFunction(model, { x: tf.tensor2d(X, [5, 4]) }), /labels/);
  assert.throws(
    () => evaluateTestFunction(model, { x: tf.tensor2d(X, [5, 4]) }, { kind: 'logit', classes: 3 }),
    /out of range/,
  );
});

test('bad input is named', async () => {
  const cfg: TrainConfig = { optimizer: { kind: 'sgd' }, learningRate: 0.1, batchSize: 4, seed: 0 };
  const m = mlp(6, 4, 3);
  const bad = Int32Array.from(data.y);
  bad[2] = 3;
  await assert.rejects(train(m, { x, labels: bad }, cfg, 1), /labels\[2\] = 3 is out of range/);
  await assert.rejects(train(m, { x, labels: data.y.subarray(1) }, cfg, 1), /labels has 36/);
  const nanX = Float32Array.from(data.x);
  nanX[5] = Number.NaN;
  await assert.rejects(train(m, { x: tf.tensor2d(nanX, [37, 6]), labels: data.y }, cfg, 1), /NaN/);
  await assert.rejects(train(m, { x, labels: data.y }, { ...cfg, batchSize: 0 }, 1), /batchSize/);
  await assert.rejects(
    train(m, { x, labels: data.y }, { ...cfg, optimizer: { kind: 'rmsprop' } as never }, 1),
    /unknown optimizer/,
  );
  await assert.rejects(
    train(m, { x, labels: data.y, weights: new Float32Array(37).fill(Number.NaN) }, cfg, 1),
    /weights\[0\] is not finite/,
  );
  await assert.rejects(
    train(m, { x, labels: data.y }, { ...cfg, learningRate: 1e38 }, 30),
    /diverged/,
  );
  const bn = tfl.sequential();
  bn.add(tfl.layers.dense({ inputShape: [6], units: 4 }));
  bn.add(tfl.layers.batchNormalization());
  bn.add(tfl.layers.dense({ units: 3 }));
  await assert.rejects(
    train(bn, { x, labels: data.y }, cfg, 1),
    /unsupported layer type.*BatchNormalization/,
  );
  const relu = tfl.sequential();
  relu.add(tfl.layers.dense({ inputShape: [6], units: 3, activation: 'relu' }));
  await assert.rejects(train(relu, { x, labels: data.y }, cfg, 1), /activation "relu"/);
  const state = await train(mlp(6, 4, 3), { x, labels: data.y }, cfg, 2);
  await assert.rejects(
    train(mlp(6, 4, 3), { x, labels: data.y }, { ...cfg, seed: 1 }, 3, {}, state),
    /differs/,
  );
  await assert.rejects(
    resume(mlp(6, 4, 3), { x, labels: data.y }, { ...state, config: { ...cfg, seed: 1 } }, 3),
    /generator position/,
  );
  await assert.rejects(resume(mlp(6, 5, 3), { x, labels: data.y }, state, 3), /shape/);
  assert.throws(() => deserializeTrainState(new Uint8Array(20)), /magic/);
  assert.throws(
    () => deserializeTrainState(serializeTrainState(state).subarray(0, 200)),
    /truncated/,
  );
});

test('trainWithCheckpoints saves one checkpoint per epoch with its learning rate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tda-twc-'));
  try {
    const store = new FsStore(dir);
    const cps = await trainWithCheckpoints(
      mlp(6, 4, 3),
      { x, labels: data.y },
      {
        config: { optimizer: { kind: 'sgd' }, learningRate: 0.2, batchSize: 10, seed: 1 },
        epochs: 3,
        store,
        prefix: 'models/m1',
      },
    );
    assert.deepEqual(
      cps.map((c) => [c.step, c.learningRate]),
      [
        [4, 0.2],
        [8, 0.2],
        [12, 0.2],
      ],
    );
    const keys = await store.list('models/m1/');
    assert.equal(keys.length, 4);
    const st = await loadTrainState(store, cps[1].key!);
    assert.equal(st?.step, 8);
    assert.deepEqual(Array.from(st!.weights[0].data), Array.from(cps[1].weights[0].data));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
