/**
 * Functional (non-sequential) models: the engine walks the graph (merges, skip connections,
 * pass-through layers) and BatchNormalization / LayerNormalization give exact γ, β gradients;
 * every case against naive per-example autodiff.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurize, planModel } from '../../../lib/grad';
import { gradientVectors } from '../../../lib/methods/factoredFeatures';
import { useTestBackend } from '../../support/backend';
import { checkAgainstNaive } from './checkAgainstNaive';
import { randomizeWeights, randomLabels, randomTensor, rng } from './naive';

await useTestBackend();

/** Random weights, with every BatchNormalization's moving variance made positive. */
function randomize(model: tfl.LayersModel, seed: number) {
  randomizeWeights(model, seed);
  const r = rng(seed + 1);
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    l.setWeights(
      l.weights.map((w) => {
        const n = w.shape.reduce((p: number, s) => p * (s as number), 1);
        const v = Float32Array.from({ length: n }, () =>
          w.originalName.endsWith('moving_variance') ? 0.3 + r() : r() * 2 - 1,
        );
        return tf.tensor(v, w.shape as number[]);
      }),
    );
  }
}

/** Dense → BatchNormalization → Dropout → Dense, added back to the BN output, → softmax Dense. */
function residualMlp() {
  const input = tfl.input({ shape: [6], name: 'x' });
  const h = tfl.layers.dense({ units: 8, activation: 'relu', name: 'd1' }).apply(input);
  const bn = tfl.layers.batchNormalization({ name: 'bn' }).apply(h);
  const drop = tfl.layers.dropout({ rate: 0.4, name: 'drop' }).apply(bn);
  const d2 = tfl.layers.dense({ units: 8, activation: 'tanh', name: 'd2' }).apply(drop);
  const sum = tfl.layers.add({ name: 'skip' }).apply([bn, d2] as tfl.SymbolicTensor[]);
  const out = tfl.layers
    .dense({ units: 3, activation: 'softmax', name: 'out' })
    .apply(sum) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out, name: 'residual_mlp' });
  randomize(m, 101);
  return m;
}

test('functional: Dense + BatchNormalization + residual Add + Dropout, all layers', () => {
  const m = residualMlp();
  const plan = planModel(m);
  assert.deepEqual(
    plan.steps.filter((s) => s.selected).map((s) => s.layer.name),
    ['d1', 'bn', 'd2', 'out'],
  );
  const f = checkAgainstNaive(m, randomTensor([5, 6], 102), randomLabels(5, 3, 103));
  // γ and β of bn as one exact block: 8 + 8 columns.
  assert.deepEqual(
    gradientVectors(f.grads).layers.map((l) => [l.name, l.size]),
    [
      ['d1', 7 * 8],
      ['bn', 16],
      ['d2', 9 * 8],
      ['out', 9 * 3],
    ],
  );
});

test('functional: BatchNormalization alone selected; a unit-probability test function', () => {
  const m = residualMlp();
  const xs = randomTensor([4, 6], 104);
  checkAgainstNaive(m, xs, randomLabels(4, 3, 105), { layers: { names: ['bn'] } });
  checkAgainstNaive(m, xs, null, {
    layers: { names: ['bn', 'out'] },
    fn: { kind: 'probability', classIndex: 2 },
  });
});

test('functional: Concatenate and Multiply of two branches, LayerNormalization', () => {
  const input = tfl.input({ shape: [5], name: 'x' });
  const a = tfl.layers.dense({ units: 4, activation: 'tanh', name: 'a' }).apply(input);
  const b = tfl.layers.dense({ units: 4, activation: 'sigmoid', name: 'b' }).apply(input);
  const prod = tfl.layers.multiply({ name: 'gate' }).apply([a, b] as tfl.SymbolicTensor[]);
  const cat = tfl.layers.concatenate({ name: 'cat' }).apply([prod, input] as tfl.SymbolicTensor[]);
  const ln = tfl.layers.layerNormalization({ name: 'ln' }).apply(cat);
  const act = tfl.layers.activation({ activation: 'relu', name: 'relu' }).apply(ln);
  const out = tfl.layers.dense({ units: 3, name: 'out' }).apply(act) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out });
  randomize(m, 111);
  const xs = randomTensor([5, 5], 112);
  const f = checkAgainstNaive(m, xs, randomLabels(5, 3, 113));
  assert.deepEqual(
    gradientVectors(f.grads).layers.map((l) => l.name),
    ['a', 'b', 'ln', 'out'],
  );
  checkAgainstNaive(m, xs, null, { fn: { kind: 'logit', classIndex: 0 } });
});

test('functional CNN: Conv2D + BatchNormalization over positions, skip Add, pooling, Reshape', () => {
  const input = tfl.input({ shape: [6, 6, 2], name: 'img' });
  const c1 = tfl.layers
    .conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c1' })
    .apply(input);
  const bn = tfl.layers.batchNormalization({ name: 'bn' }).apply(c1);
  const r = tfl.layers.activation({ activation: 'relu', name: 'r' }).apply(bn);
  const c2 = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c2' }).apply(r);
  const sum = tfl.layers.add({ name: 'skip' }).apply([c1, c2] as tfl.SymbolicTensor[]);
  const pooled = tfl.layers.averagePooling2d({ poolSize: 2, name: 'avg' }).apply(sum);
  const maxed = tfl.layers.maxPooling2d({ poolSize: 3, name: 'max' }).apply(pooled);
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(maxed);
  const reshaped = tfl.layers.reshape({ targetShape: [1, 3], name: 'rs' }).apply(flat);
  const gap = tfl.layers.globalAveragePooling1d({ name: 'gap' }).apply(reshaped);
  const lnorm = tfl.layers.layerNormalization({ name: 'ln' }).apply(gap);
  const out = tfl.layers
    .dense({ units: 3, activation: 'softmax', name: 'out' })
    .apply(lnorm) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out });
  randomize(m, 121);
  checkAgainstNaive(m, randomTensor([4, 6, 6, 2], 122), randomLabels(4, 3, 123));
});

test('functional: a selected layer called twice is refused, naming it', () => {
  const input = tfl.input({ shape: [4] });
  const shared = tfl.layers.dense({ units: 4, name: 'shared' });
  const h = shared.apply(shared.apply(input));
  const out = tfl.layers.dense({ units: 2, name: 'out' }).apply(h) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out });
  assert.throws(() => planModel(m), /layer 'shared' \(Dense\) is shared \(called 2 times\)/);
  // Unselected, it just runs forward (both calls).
  const xs = randomTensor([3, 4], 1);
  const f = featurize(m, xs, [0, 1, 0], { layers: 'last', projector: { kind: 'none' } });
  assert.equal(gradientVectors(f.grads).dim, 5 * 2);
});

/**
 * BatchNormalization / LayerNormalization without γ (scale: false) or β (center: false), and
 * the same model with both, its γ = 1 or β = 0: tfjs's own autodiff fails on the former (its
 * batchNorm gradient needs both tensors), so the naive reference differentiates the latter.
 */
function normModels(norm: 'bn' | 'ln', scale: boolean, center: boolean) {
  const build = (s: boolean, c: boolean) => {
    const input = tfl.input({ shape: [5], name: 'x' });
    const h = tfl.layers.dense({ units: 6, activation: 'tanh', name: 'd1' }).apply(input);
    const opts = { scale: s, center: c, name: 'norm' };
    const n = (
      norm === 'bn' ? tfl.layers.batchNormalization(opts) : tfl.layers.layerNormalization(opts)
    ).apply(h);
    const sum = tfl.layers.add({ name: 'skip' }).apply([h, n] as tfl.SymbolicTensor[]);
    const out = tfl.layers.dense({ units: 3, name: 'out' }).apply(sum) as tfl.SymbolicTensor;
    return tfl.model({ inputs: input, outputs: out });
  };
  const m = build(scale, center);
  randomize(m, 131);
  const full = build(true, true);
  for (const l of full.layers) {
    const own = m.getLayer(l.name).weights;
    l.setWeights(
      l.weights.map((w) => {
        const same = own.find((o) => o.originalName === w.originalName);
        if (same) return same.read();
        return w.originalName.endsWith('/gamma') ? tf.onesLike(w.read()) : tf.zerosLike(w.read());
      }),
    );
  }
  return { m, full };
}

test('functional: BatchNormalization and LayerNormalization with scale: false or center: false (γ or β alone, or neither)', () => {
  const xs = randomTensor([5, 5], 132);
  const ys = randomLabels(5, 3, 133);
  for (const norm of ['bn', 'ln'] as const) {
    for (const [scale, center, size] of [
      [false, true, 6],
      [true, false, 6],
      [false, false, 0],
    ] as const) {
      const what = `${norm} scale=${scale} center=${center}`;
      const { m, full } = normModels(norm, scale, center);
      // The reference model computes the same function.
      const [a, b] = [m, full].map((k) => Array.from((k.predict(xs) as tf.Tensor).dataSync()));
      assert.ok(
        a.every((v, i) => Math.abs(v - b[i]) < 1e-6),
        `${what}: the reference model differs`,
      );
      const f = checkAgainstNaive(m, xs, ys, { reference: full });
      const sizes = Object.fromEntries(
        gradientVectors(f.grads).layers.map((l) => [l.name, l.size]),
      );
      // Only the parameter the layer has: a block of 6, or none (then it is a pass-through).
      assert.equal(sizes.norm ?? 0, size, what);
      assert.equal(sizes.d1, 6 * 6, what);
      if (size > 0) {
        checkAgainstNaive(m, xs, ys, { layers: { names: ['norm'] }, reference: full });
      }
    }
  }
});
