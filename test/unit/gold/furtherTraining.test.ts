import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreementOverSteps } from '../../../lib/eval/agreement';
import {
  averageOverSeeds,
  type FurtherTrainingSpec,
  furtherTrainingRun,
  goldPerStep,
  goldStandard,
  planRuns,
  type RunResult,
  runGoldStandard,
  runId,
} from '../../../lib/gold/furtherTraining';
import { readWeights, train } from '../../../lib/train/trainer';
import type { TrainState } from '../../../lib/train/trainState';
import { deserializeTrainState, serializeTrainState } from '../../../lib/train/trainState';
import { gaussianData, maxAbsDiff, mlp, tf, tfl } from '../train/helpers';

await tf.setBackend('cpu');

test('averageOverSeeds: mean and standard error match brute force', () => {
  const samples = [
    [1, 2, 3],
    [2, 2, 5],
    [4, 2, 1],
    [0.5, 2, -1],
  ];
  const r = averageOverSeeds(samples);
  for (let i = 0; i < 3; i++) {
    const xs = samples.map((s) => s[i]);
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
    assert.ok(Math.abs(r.mean[i] - mean) < 1e-12);
    assert.ok(Math.abs(r.stderr[i] - sd / 2) < 1e-12);
  }
  assert.equal(r.stderr[1], 0);
  assert.ok(Number.isNaN(averageOverSeeds([[1]]).stderr[0]));
  assert.throws(() => averageOverSeeds([[1], [1, 2]]), /length/);
  assert.throws(() => averageOverSeeds([]), /at least one/);
});

const run = (seed: number, p: RunResult['perturbation'], values: number[][]): RunResult => ({
  seed,
  perturbation: p,
  steps: [2, 4],
  values,
});

test('gold standard pairs runs by seed, signs them as proponent-positive, averages over seeds', () => {
  const base = [
    run(1, { kind: 'none' }, [
      [1, 1],
      [2, 2],
    ]),
    run(2, { kind: 'none' }, [
      [3, 3],
      [4, 4],
    ]),
  ];
  const removed = [
    // Example 7: removing it raises query 0's loss (a proponent of query 0), lowers query 1's.
    run(1, { kind: 'remove', index: 7 }, [
      [1.5, 0.5],
      [2.5, 1.5],
    ]),
    run(2, { kind: 'remove', index: 7 }, [
      [3.3, 2.9],
      [4.1, 3.9],
    ]),
    run(2, { kind: 'remove', index: 3 }, [
      [3, 3],
      [4, 4],
    ]),
    run(1, { kind: 'remove', index: 3 }, [
      [1, 1],
      [2, 2],
    ]),
  ];
  const g = goldStandard(base, removed);
  assert.deepEqual(g.examples, [3, 7]);
  assert.deepEqual(g.seeds, [1, 2]);
  assert.equal(g.queries, 2);
  // score[t] is queries × examples: [q0e3, q0e7, q1e3, q1e7]
  const s0 = Array.from(g.score[0]);
  assert.ok(maxAbsDiff(s0, [0, 0.4, 0, -0.3]) < 1e-12, `${s0}`);
  assert.ok(maxAbsDiff(Array.from(g.score[1]), [0, 0.3, 0, -0.3]) < 1e-12);
  assert.ok(Math.abs(g.stderr[0][1] - 0.1) < 1e-12); // diffs 0.5, 0.3 → sd 0.1414/√2
  // Upweighting by ε: score = −(f_ε − f_base)/ε, so a proponent (f drops) is positive again.
  const up = goldStandard(base, [
    run(1, { kind: 'upweight', index: 7, epsilon: 0.1 }, [
      [0.95, 1.02],
      [1.98, 2],
    ]),
    run(2, { kind: 'upweight', index: 7, epsilon: 0.1 }, [
      [2.97, 3.02],
      [3.98, 4],
    ]),
  ]);
  assert.ok(maxAbsDiff(Array.from(up.score[0]), [0.4, -0.2]) < 1e-9);
  assert.throws(() => goldStandard(base, removed.slice(0, 3)), /example 3 has no run for seeds 1/);
  assert.throws(
    () =>
      goldStandard(base, [
        ...removed,
        run(1, { kind: 'upweight', index: 9, epsilon: 1 }, [
          [1, 1],
          [2, 2],
        ]),
      ]),
    /mix/,
  );
  assert.throws(
    () =>
      goldStandard(base, [
        run(5, { kind: 'remove', index: 1 }, [
          [1, 1],
          [2, 2],
        ]),
      ]),
    /no baseline for seed 5/,
  );
  assert.deepEqual(planRuns([4, 9], [0, 1]).map(runId), [
    'seed-0/baseline',
    'seed-0/remove-4',
    'seed-0/remove-9',
    'seed-1/baseline',
    'seed-1/remove-4',
    'seed-1/remove-9',
  ]);
});

const n = 30;
const train0 = gaussianData(n, 5, 3, 21);
const queries0 = gaussianData(4, 5, 3, 22);
const x = tf.tensor2d(train0.x, [n, 5]);
const queries = { x: tf.tensor2d(queries0.x, [4, 5]), labels: queries0.y };

test('a run resumed after a crash records the same values as an uninterrupted one', async () => {
  const model = mlp(5, 8, 3, { dropout: 0.3 });
  const thetaF = readWeights(model);
  const spec: FurtherTrainingSpec = {
    training: { optimizer: { kind: 'momentum', momentum: 0.9 }, learningRate: 0.05, batchSize: 7 },
    steps: [0, 3, 9, 14],
  };
  const data = { x, labels: train0.y };
  const key = { seed: 4, perturbation: { kind: 'remove' as const, index: 5 } };
  const straight = await furtherTrainingRun(model, thetaF, data, queries, spec, key);
  assert.deepEqual(straight.steps, [0, 3, 9, 14]);
  assert.notDeepEqual(straight.values[0], straight.values[3]);

  let saved: Uint8Array | undefined;
  const other = mlp(5, 8, 3, { dropout: 0.3, seed: 7 });
  await assert.rejects(
    furtherTrainingRun(other, thetaF, data, queries, spec, key, {
      checkpointEvery: 4,
      onCheckpoint: (s) => {
        saved = serializeTrainState(s);
      },
      onStep: ({ step }) => {
        if (step === 10) throw new Error('worker lost');
      },
    }),
    /worker lost/,
  );
  const state: TrainState = deserializeTrainState(saved!);
  assert.equal(state.step, 8);
  const fresh = mlp(5, 8, 3, { dropout: 0.3, seed: 8 });
  const resumed = await furtherTrainingRun(fresh, thetaF, data, queries, spec, key, {
    resumeFrom: state,
  });
  assert.deepEqual(resumed.values, straight.values);
  await assert.rejects(
    furtherTrainingRun(
      fresh,
      thetaF,
      data,
      queries,
      spec,
      { seed: 4, perturbation: { kind: 'none' } },
      {
        resumeFrom: state,
      },
    ),
    /belongs to run "seed-4\/remove-5"/,
  );
  await assert.rejects(
    furtherTrainingRun(fresh, thetaF, data, queries, spec, {
      seed: 4,
      perturbation: { kind: 'remove', index: n },
    }),
    /out of range/,
  );
});

/** Float64 Grad-Dot for softmax regression: g_i·q_j = (x_i·x_j + 1)(δ_i·δ_j), δ = p − onehot(y). */
function gradDotSoftmaxRegression(
  W: Float32Array,
  b: Float32Array,
  d: number,
  k: number,
  xs: Float32Array,
  ys: Int32Array,
  xq: Float32Array,
  yq: Int32Array,
): Float64Array {
  const delta = (x: Float32Array, y: Int32Array, i: number) => {
    const z = Array.from({ length: k }, (_, c) => {
      let s = b[c];
      for (let j = 0; j < d; j++) s += x[i * d + j] * W[j * k + c];
      return s;
    });
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const sum = e.reduce((a, v) => a + v);
    return e.map((v, c) => v / sum - (c === y[i] ? 1 : 0));
  };
  const nq = yq.length;
  const nt = ys.length;
  const out = new Float64Array(nq * nt);
  for (let j = 0; j < nq; j++) {
    const dq = delta(xq, yq, j);
    for (let i = 0; i < nt; i++) {
      const di = delta(xs, ys, i);
      let xx = 1;
      for (let t = 0; t < d; t++) xx += xs[i * d + t] * xq[j * d + t];
      out[j * nt + i] = xx * di.reduce((a, v, c) => a + v * dq[c], 0);
    }
  }
  return out;
}

test('end to end: short further training agrees with float64 Grad-Dot on a convex model', async () => {
  const model = tfl.sequential();
  model.add(
    tfl.layers.dense({
      inputShape: [5],
      units: 3,
      activation: 'softmax',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
    }),
  );
  const data = { x, labels: train0.y };
  await train(
    model,
    data,
    { optimizer: { kind: 'sgd' }, learningRate: 0.3, batchSize: 10, seed: 99 },
    15,
  );
  const thetaF = readWeights(model);
  const spec: FurtherTrainingSpec = {
    training: { optimizer: { kind: 'sgd' }, learningRate: 0.05, batchSize: 10 },
    steps: [3, 30],
  };
  const examples = [...Array(n).keys()];
  const gold = await runGoldStandard(model, thetaF, data, queries, spec, examples, [0, 1, 2]);
  const gd = gradDotSoftmaxRegression(
    thetaF[0].data,
    thetaF[1].data,
    5,
    3,
    train0.x,
    train0.y,
    queries0.x,
    queries0.y,
  );
  const agree = agreementOverSteps(gd, gold, { resamples: 200 });
  for (const a of agree) {
    console.log(
      `T=${a.step}: Grad-Dot vs gold cosine ${a.cosine.toFixed(4)} [${a.cosineCI.map((v) => v.toFixed(3))}], spearman ${a.spearman.toFixed(4)}`,
    );
  }
  assert.ok(agree[0].cosine > 0.95, `cosine at T=3: ${agree[0].cosine}`);
  assert.ok(agree[0].spearman > 0.9, `spearman at T=3: ${agree[0].spearman}`);
  // Gold scores are in the units of Grad-Dot × η/B after one epoch: check the scale too.
  const ratio = gold.score[0][0] / gd[0];
  assert.ok(Math.abs(ratio - 0.05 / 10) < 0.002, `scale ratio ${ratio}`);

  // Upweighting by a small ε gives nearly the same scores as removal (both ≈ −∂f/∂w_i).
  const up = await runGoldStandard(
    model,
    thetaF,
    data,
    queries,
    { ...spec, steps: [3] },
    examples.slice(0, 10),
    [0, 1, 2],
    {
      kind: 'upweight',
      epsilon: 0.01,
    },
  );
  for (let j = 0; j < 4; j++) {
    for (let i = 0; i < 10; i++) {
      const r = gold.score[0][j * n + i];
      const u = up.score[0][j * 10 + i];
      assert.ok(
        Math.abs(r - u) < 0.05 * Math.abs(r) + 2e-6,
        `query ${j} example ${i}: remove ${r} vs upweight ${u}`,
      );
    }
  }
});

test('goldPerStep: mean |score| and mean standard error per T over every (query, example)', () => {
  const g = {
    steps: [2, 5],
    examples: [0, 3],
    queries: 2,
    seeds: [0, 1],
    score: [Float64Array.from([1, -3, 0.5, -0.5]), Float64Array.from([-2, 2, 4, 0])],
    stderr: [Float64Array.from([0.5, 1.5, 1, 1]), Float64Array.from([0, 0, 0.2, 0.2])],
  };
  assert.deepEqual(goldPerStep(g), [
    { step: 2, meanAbsScore: 5 / 4, meanStderr: 1 },
    { step: 5, meanAbsScore: 2, meanStderr: 0.1 },
  ]);
});
