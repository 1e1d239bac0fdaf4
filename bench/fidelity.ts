/**
 * Fidelity benchmark: how well cheap attribution scores agree with the further-training gold
 * standard on a real tabular dataset (breast cancer, 569 × 30), as a function of the amount of
 * further training T. Methods here are computed from naive per-example gradients (one autodiff
 * call per example); the real implementations plug in the same way.
 *
 * Env: FIDELITY_CSV (path), FIDELITY_M (examples, 100), FIDELITY_S (seeds, 20), FIDELITY_Q
 * (queries, 20), FIDELITY_EPOCHS (further-training epochs, 3), TDA_BACKEND (cpu | wasm).
 * Prints a log, writes out/fidelity-{cosine,spearman}.svg, and a last line of JSON.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { sklearnDataDir } from '../lib/data/importCsv';
import { agreementOverSteps } from '../lib/eval/agreement';
import { agreementChart } from '../lib/eval/chart';
import type { ExampleFeatures } from '../lib/features';
import { type FurtherTrainingSpec, runGoldStandard } from '../lib/gold/furtherTraining';
import { featurize } from '../lib/grad/featurize';
import type { ScoreMatrix } from '../lib/methods/blockProduct';
import { scoreMethod } from '../lib/methods/index';
import { conjugateGradient } from '../lib/methods/influence/conjugateGradient';
import { meanLossHvp } from '../lib/methods/influence/hvp';
import { epochPermutation } from '../lib/train/batchOrder';
import { writeWeights } from '../lib/train/trainer';
import type { NamedArray } from '../lib/train/trainState';
import { trainWithCheckpoints } from '../lib/train/trainWithCheckpoints';

const env = process.env;
const CSV = env.FIDELITY_CSV ?? join(sklearnDataDir(), 'breast_cancer.csv');
const M = Number(env.FIDELITY_M ?? 100);
const S = Number(env.FIDELITY_S ?? 20);
const Q = Number(env.FIDELITY_Q ?? 20);
const EPOCHS = Number(env.FIDELITY_EPOCHS ?? 3);
const BATCH = 32;

async function setBackend(): Promise<string> {
  if (env.TDA_BACKEND === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(`${join(dist, 'dist')}/`);
    await tf.setBackend('wasm');
  } else await tf.setBackend('cpu');
  return tf.getBackend();
}

/** sklearn's CSV: first line `n,nfeatures,classnames...`, label in the last column. */
function loadCsv(path: string): { x: Float32Array; y: Int32Array; n: number; d: number } {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const [n, d] = lines[0].split(',').map(Number);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1].split(',').map(Number);
    if (cells.length !== d + 1 || cells.some(Number.isNaN))
      throw new Error(`${path}: bad row ${i + 2}`);
    for (let j = 0; j < d; j++) x[i * d + j] = cells[j];
    y[i] = cells[d];
  }
  return { x, y, n, d };
}

function take(x: Float32Array, y: Int32Array, d: number, idx: ArrayLike<number>) {
  const xs = new Float32Array(idx.length * d);
  const ys = new Int32Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    xs.set(x.subarray(idx[r] * d, (idx[r] + 1) * d), r * d);
    ys[r] = y[idx[r]];
  }
  return { x: xs, y: ys };
}

function buildModel(d: number): tfl.LayersModel {
  const m = tfl.sequential();
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: s });
  m.add(
    tfl.layers.dense({
      inputShape: [d],
      units: 16,
      activation: 'tanh',
      kernelInitializer: init(1),
    }),
  );
  m.add(tfl.layers.dense({ units: 2, kernelInitializer: init(2) }));
  return m;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  if (!CSV) throw new Error('breast_cancer.csv not found: set FIDELITY_CSV');
  const backend = await setBackend();
  const all = loadCsv(CSV);
  const d = all.d;
  // Deterministic 80/20 split.
  const perm = epochPermutation(2024, 0, all.n);
  const nTrain = Math.round(all.n * 0.8);
  const trainIdx = perm.slice(0, nTrain);
  const testIdx = perm.slice(nTrain);
  const tr = take(all.x, all.y, d, trainIdx);
  const te = take(all.x, all.y, d, testIdx);
  // Standardise with training statistics.
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < nTrain; i++) mean += tr.x[i * d + j] / nTrain;
    let v = 0;
    for (let i = 0; i < nTrain; i++) v += (tr.x[i * d + j] - mean) ** 2 / nTrain;
    const sd = Math.sqrt(v) || 1;
    for (const set of [tr, te]) {
      for (let i = 0; i < set.y.length; i++) set.x[i * d + j] = (set.x[i * d + j] - mean) / sd;
    }
  }
  console.log(
    `breast cancer: ${nTrain} train, ${te.y.length} test, ${d} features; backend ${backend}`,
  );

  const model = buildModel(d);
  const data = { x: tf.tensor2d(tr.x, [nTrain, d]), labels: tr.y };
  const lr = 0.1;
  const checkpoints = await trainWithCheckpoints(model, data, {
    config: { optimizer: { kind: 'sgd' }, learningRate: lr, batchSize: BATCH, seed: 7 },
    epochs: 10,
  });
  const thetaF: NamedArray[] = checkpoints[checkpoints.length - 1].weights;
  const acc = tf.tidy(() => {
    const pred = tf.argMax(model.predict(tf.tensor2d(te.x, [te.y.length, d])) as tf.Tensor, 1);
    return tf.mean(tf.cast(tf.equal(pred, tf.tensor1d(te.y, 'int32')), 'float32')).dataSync()[0];
  });
  console.log(
    `trained 10 epochs (${checkpoints.at(-1)!.step} steps), test accuracy ${acc.toFixed(3)}`,
  );

  // Examples to attribute and queries (deterministic choices).
  const examples = Array.from(epochPermutation(11, 0, nTrain).slice(0, M)).sort((a, b) => a - b);
  const qIdx = Array.from({ length: Math.min(Q, te.y.length) }, (_, i) => i);
  const qs = take(te.x, te.y, d, qIdx);
  const queries = { x: tf.tensor2d(qs.x, [qIdx.length, d]), labels: qs.y };

  // Every method from the project's gradient engine (exact per-example gradients, projector
  // none) and lib/methods, over the whole training set; the M attributed examples' columns kept.
  const featurizeAt = (xs: Float32Array, ys: Int32Array) =>
    featurize(model, tf.tensor2d(xs, [ys.length, d]), ys, { projector: { kind: 'none' } });
  const trainF: ExampleFeatures[] = [];
  const queryF: ExampleFeatures[] = [];
  for (const cp of checkpoints) {
    writeWeights(model, cp.weights);
    trainF.push(featurizeAt(tr.x, tr.y));
    queryF.push(featurizeAt(qs.x, qs.y));
  }
  const cks = checkpoints.map((c) => ({ step: c.step, learningRate: c.learningRate }));
  const input = { train: trainF, query: queryF, checkpoints: cks };
  const columns = (m: ScoreMatrix): Float64Array => {
    const out = new Float64Array(m.queries * M);
    for (let j = 0; j < m.queries; j++) {
      for (let i = 0; i < M; i++) out[j * M + i] = m.data[j * m.train + examples[i]];
    }
    return out;
  };
  // θ_f is the last checkpoint's weights (the model holds them now).
  const hvp = meanLossHvp(model, data.x, tr.y);
  let damping = 0.01;
  let influenceCG: ScoreMatrix | undefined;
  while (!influenceCG) {
    try {
      influenceCG = scoreMethod('influenceExact', {
        ...input,
        options: {
          solve: (q) => conjugateGradient(hvp.hvp, q, { damping, maxIterations: 500 }).x,
        },
      });
    } catch (e) {
      // A non-convex model's Hessian can be indefinite: raise the damping until CG converges.
      if (!/positive definite/.test((e as Error).message) || damping > 10) throw e;
      damping *= 10;
    }
  }
  console.log(`influence (CG): damping ${damping}`);
  const scores: Record<string, Float64Array> = {
    'Grad-Dot': columns(scoreMethod('gradDot', input)),
    'Grad-Cos': columns(scoreMethod('gradCos', input)),
    'TracIn-CP': columns(scoreMethod('tracin', input)),
    'IF (CG)': columns(influenceCG),
    'IF (Gauss-Newton)': columns(scoreMethod('influenceProjected', input)),
    DataInf: columns(scoreMethod('dataInf', input)),
  };
  const tMethods = performance.now();
  console.log(`methods: ${((tMethods - t0) / 1000).toFixed(1)} s so far`);

  // Gold standard: further training from θ_f, removal, S seeds, recorded at each epoch.
  const perEpoch = Math.ceil(nTrain / BATCH);
  const steps = Array.from({ length: EPOCHS }, (_, e) => (e + 1) * perEpoch);
  steps.unshift(Math.max(1, Math.round(perEpoch / 3)));
  const spec: FurtherTrainingSpec = {
    training: { optimizer: { kind: 'sgd' }, learningRate: lr, batchSize: BATCH },
    steps,
  };
  const seeds = Array.from({ length: S }, (_, s) => 1000 + s);
  let last = performance.now();
  const gold = await runGoldStandard(
    model,
    thetaF,
    data,
    queries,
    spec,
    examples,
    seeds,
    { kind: 'remove' },
    (done, total) => {
      if (performance.now() - last > 15000 || done === total) {
        last = performance.now();
        console.log(
          `gold standard: ${done}/${total} runs, ${((last - tMethods) / 1000).toFixed(0)} s`,
        );
      }
    },
  );

  const results: Array<{
    method: string;
    steps: number;
    cosine: number;
    cosine_ci: [number, number];
    spearman: number;
    spearman_ci: [number, number];
  }> = [];
  for (const [method, s] of Object.entries(scores)) {
    for (const a of agreementOverSteps(s, gold, { resamples: 1000, seed: 1 })) {
      results.push({
        method,
        steps: a.step,
        cosine: a.cosine,
        cosine_ci: a.cosineCI,
        spearman: a.spearman,
        spearman_ci: a.spearmanCI,
      });
      console.log(
        `${method.padEnd(10)} T=${String(a.step).padStart(3)}  cosine ${a.cosine.toFixed(3)} [${a.cosineCI.map((v) => v.toFixed(3)).join(', ')}]  spearman ${a.spearman.toFixed(3)} [${a.spearmanCI.map((v) => v.toFixed(3)).join(', ')}]`,
      );
    }
  }
  let se = 0;
  let sc = 0;
  for (let t = 0; t < gold.steps.length; t++) {
    for (let i = 0; i < gold.score[t].length; i++) {
      se += gold.stderr[t][i];
      sc += Math.abs(gold.score[t][i]);
    }
  }
  console.log(
    `gold standard: mean |score| ${(sc / (gold.steps.length * gold.score[0].length)).toExponential(2)}, mean stderr ${(se / (gold.steps.length * gold.score[0].length)).toExponential(2)}`,
  );
  mkdirSync('out', { recursive: true });
  for (const metric of ['cosine', 'spearman'] as const) {
    const svg = agreementChart(
      results.map((r) => ({
        method: r.method,
        step: r.steps,
        value: r[metric],
        ci: r[`${metric}_ci`],
      })),
      {
        title: `Breast cancer: ${metric} with the further-training gold standard (${S} seeds)`,
        yLabel: metric,
      },
    );
    writeFileSync(`out/fidelity-${metric}.svg`, svg);
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `wrote out/fidelity-cosine.svg, out/fidelity-spearman.svg; total ${seconds.toFixed(1)} s`,
  );
  console.log(
    JSON.stringify({
      dataset: 'breast_cancer',
      instances: M,
      seeds: S,
      queries: qIdx.length,
      train_size: nTrain,
      backend,
      seconds: Number(seconds.toFixed(1)),
      results,
    }),
  );
}

await main();
