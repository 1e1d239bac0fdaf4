/**
 * Per-example gradient throughput: naive autodiff per example vs factored gradients, plain and
 * projected (Kronecker 32×32 per layer, dense Gaussian k = 1024 per layer), for an MLP
 * 784-256-128-10 and a small CNN, on each backend named in --backends (default: the one 'auto'
 * picks, then wasm when that is another; e.g. tensorflow,wasm) in the same run, with the
 * speed-ups of the first over the last; --batch B (default 512). Last line: one JSON object with
 * the figures.
 */

import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { computeFactors, planModel, projectBlocks } from '../lib/grad';
import type { ProjectorSpec } from '../lib/grad/types';
import { gradientVectors } from '../lib/methods/factoredFeatures';
import { type BackendName, initBackend } from '../lib/tf/backend';

const { values } = parseArgs({
  options: { backends: { type: 'string' }, batch: { type: 'string', default: '512' } },
});
const auto = await initBackend('auto');
const backends = (values.backends?.split(',') ?? (auto === 'wasm' ? ['wasm'] : [auto, 'wasm'])).map(
  (b) => (b === 'tensorflow-gpu' ? 'tensorflow' : b) as BackendName,
);
/** Examples per batch (--batch; smaller for a smoke run on a slow backend such as llvmpipe). */
const B = Number(values.batch);
if (!Number.isInteger(B) || B < 16)
  throw new Error(`--batch must be an integer ≥ 16, got ${values.batch}`);

function rand(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 4294967296;
  });
}

function time(f: () => void, minMs = 1500): number {
  // Warm-up: V8 tiers wasm and JS up over the first calls and seconds.
  const w0 = performance.now();
  do f();
  while (performance.now() - w0 < minMs / 2);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    f();
    n++;
  }
  return (performance.now() - t0) / n / 1000;
}

function matmulGflops(): number {
  const a = tf.tensor2d(rand(512 * 784, 1), [512, 784]);
  const b = tf.tensor2d(rand(784 * 256, 2), [784, 256]);
  // Returning a dataSync() array from tf.tidy makes tidy walk it element by element: don't.
  const s = time(() => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  }, 1000);
  tf.dispose([a, b]);
  return (2 * 512 * 784 * 256) / s / 1e9;
}

/**
 * Naive per-example gradients: one tf.variableGrads per example, flattened in the order of
 * `params` (the engine's blocks' parameter names; default the model's trainable weights).
 */
function naive(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: Int32Array,
  count: number,
  params?: string[],
): Float32Array[] {
  const byName = new Map(
    model.trainableWeights.map((w) => [w.name, (w as unknown as { val: tf.Variable }).val]),
  );
  const vars = (params ?? [...byName.keys()]).map((p) => {
    const v = byName.get(p);
    if (!v) throw new Error(`no trainable variable ${p}`);
    return v;
  });
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const g = tf.tidy(() => {
      const x = tf.slice(xs, i, 1);
      const { grads } = tf.variableGrads(() => {
        const logits = model.apply(x) as tf.Tensor;
        return tf.neg(tf.sum(tf.mul(tf.oneHot([ys[i]], 10), tf.logSoftmax(logits)))) as tf.Scalar;
      }, vars);
      return tf.concat(vars.map((v) => tf.reshape(grads[v.name], [-1])));
    });
    out.push(g.dataSync() as Float32Array);
    g.dispose();
  }
  return out;
}

function run(prefix: string, model: tfl.LayersModel, inShape: number[]) {
  const n = inShape.reduce((p, s) => p * s, 1);
  const xs = tf.tensor(rand(B * n, 3), [B, ...inShape]);
  const ys = Int32Array.from(rand(B, 4), (v) => Math.floor(v * 10));
  const plan = planModel(model, 'all');
  const fig: Record<string, number> = {};

  const nNaive = Math.min(B, 200) / (prefix ? 2 : 1);
  naive(model, xs, ys, 10);
  const t0 = performance.now();
  naive(model, xs, ys, nNaive);
  fig[`${prefix}naive_ex_s`] = nNaive / ((performance.now() - t0) / 1000);

  fig[`${prefix}factored_ex_s`] = B / time(() => computeFactors(plan, xs, ys));
  const proj = (spec: ProjectorSpec, batch = B) => {
    const xb = tf.slice(xs, 0, batch);
    const s = time(
      () => projectBlocks(computeFactors(plan, xb, ys.subarray(0, batch)).blocks, spec),
      1000,
    );
    xb.dispose();
    return batch / s;
  };
  // engine 'tf': projection products on the backend (fast); 'js': plain JS, bit-identical on
  // every backend (the default).
  fig[`${prefix}kron1024_ex_s`] = proj({
    kind: 'kronecker',
    k1: 32,
    k2: 32,
    seed: 1,
    engine: 'tf',
  });
  fig[`${prefix}kron1024_js_ex_s`] = proj({ kind: 'kronecker', k1: 32, k2: 32, seed: 1 });
  fig[`${prefix}dense1024_ex_s`] = proj(
    { kind: 'gaussian', k: 1024, seed: 1, engine: 'tf' },
    prefix ? B : Math.min(B, 256),
  );

  // Accuracy: factored (flattened) vs naive gradients on the same backend.
  const m = 16;
  const xb = tf.slice(xs, 0, m);
  const { blocks } = computeFactors(plan, xb, ys.subarray(0, m));
  // Exact features hold factors where smaller; gradientVectors expands them to the gradient.
  const flat = gradientVectors(projectBlocks(blocks, { kind: 'none' }));
  xb.dispose();
  const ref = naive(
    model,
    xs,
    ys,
    m,
    blocks.flatMap((b) => b.params.map((p) => p.name)),
  );
  let err = 0;
  let scale = 0;
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < flat.dim; p++) {
      err = Math.max(err, Math.abs(flat.data[i * flat.dim + p] - ref[i][p]));
      scale = Math.max(scale, Math.abs(ref[i][p]));
    }
  }
  fig[`${prefix}max_abs_err`] = err;
  fig[`${prefix}max_abs_grad`] = scale;
  xs.dispose();
  return fig;
}

function models() {
  const mlp = tfl.sequential();
  mlp.add(tfl.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }));
  mlp.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
  mlp.add(tfl.layers.dense({ units: 10 }));
  const cnn = tfl.sequential();
  cnn.add(
    tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
  );
  cnn.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  cnn.add(tfl.layers.flatten());
  cnn.add(tfl.layers.dense({ units: 10 }));
  return { mlp, cnn };
}

const results: Record<string, Record<string, number>> = {};
for (const name of backends) {
  const backend = await initBackend(name);
  if (backend.replace('-gpu', '') !== name)
    throw new Error(`backend ${name} did not load (${backend})`);
  // Models built on the backend they run on (their weights live there).
  const { mlp, cnn } = models();
  const gflops = matmulGflops();
  console.log(`backend ${backend}; plain matMul 512×784·784×256: ${gflops.toFixed(1)} GFLOP/s`);
  const a = run('', mlp, [784]);
  console.log(`${backend}: MLP 784-256-128-10, batch ${B}:`, a);
  const c = run('cnn_', cnn, [28, 28, 1]);
  console.log(`${backend}: CNN conv3x3x32-pool-dense10, batch ${B}:`, c);
  console.log(
    `${backend}: kron1024 / naive = ${(a.kron1024_ex_s / a.naive_ex_s).toFixed(1)}×; ` +
      `targets: kron1024 ≥ 20000 ex/s, ≥ 25× naive, max_abs_err ≤ 1e-5`,
  );
  results[backend] = { matmul_gflops: gflops, ...a, ...c };
}
const names = Object.keys(results);
const first = results[names[0]];
const last = results[names[names.length - 1]];
const speedup: Record<string, number> = {};
if (names.length > 1) {
  for (const k of [
    'matmul_gflops',
    'factored_ex_s',
    'kron1024_ex_s',
    'cnn_factored_ex_s',
    'cnn_kron1024_ex_s',
  ]) {
    speedup[k] = first[k] / last[k];
  }
  console.log(
    `${names[0]} / ${names[names.length - 1]}: ` +
      Object.entries(speedup)
        .map(([k, v]) => `${k} ${v.toFixed(2)}×`)
        .join(', ') +
      ' (targets: matmul ≥ 4×, factored and kron1024 ≥ 3×)',
  );
}
console.log(JSON.stringify({ backend: names[0], ...first, backends: results, speedup }));
