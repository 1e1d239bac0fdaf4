/**
 * The written-out backward pass (lib/grad/manualBackward.ts) against the tape (tf.grads through
 * zero probes): the same factor bits and test-function values on every head, test function,
 * activation and selection it takes (a softmax loss's float64 gradient within float32 rounding),
 * and the tape where a layer or a branch rules it out. Both
 * are checked against naive autodiff by the other tests of this folder (their MLPs take the
 * written-out pass).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { computeFactors, type ModelPlan, planModel } from '../../../lib/grad/factors';
import { softmaxCrossEntropy } from '../../../lib/grad/head';
import type { LayerSelection, TestFunction } from '../../../lib/grad/types';
import { useTestBackend } from '../../support/backend';
import { randomizeWeights, randomLabels, randomTensor } from './naive';

await useTestBackend();

/** Largest |x − y| over max(1, |y|) between two arrays of the same length. */
function relErr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  assert.equal(x.length, y.length);
  let e = 0;
  for (let i = 0; i < x.length; i++)
    e = Math.max(e, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  return e;
}

/**
 * The written-out pass against the tape: the same bits, except a softmax or logits head's loss,
 * whose gradient the written-out pass takes in float64 (softmaxCrossEntropy): within float32
 * rounding of the tape's there.
 */
function sameBits(plan: ModelPlan, xs: tf.Tensor, ys: ArrayLike<number> | null, fn: TestFunction) {
  assert.equal(plan.backward, 'manual');
  const manual = computeFactors(plan, xs, ys, fn);
  const tape = computeFactors({ ...plan, backward: 'tape' }, xs, ys, fn);
  const exact = !(
    fn.kind === 'loss' &&
    (plan.head.kind === 'softmax' || plan.head.kind === 'logits')
  );
  const same = (x: ArrayLike<number>, y: ArrayLike<number>, what: string) => {
    if (exact) assert.deepEqual(x, y, `${fn.kind}: ${what}`);
    else assert.ok(relErr(x, y) <= 1e-6, `${fn.kind}: ${what}: ${relErr(x, y)}`);
  };
  assert.deepEqual(
    manual.blocks.map((b) => b.name),
    tape.blocks.map((b) => b.name),
  );
  same(manual.values, tape.values, 'test-function values');
  manual.blocks.forEach((b, i) => {
    const t = tape.blocks[i];
    assert.deepEqual(b.a, t.a, `${fn.kind}: block '${b.name}' inputs`);
    same(b.delta, t.delta, `block '${b.name}' δ`);
    assert.ok(
      b.delta.some((v) => v !== 0),
      `block '${b.name}': δ is not trivially zero`,
    );
  });
}

test('softmax cross-entropy and its gradient against a float64 brute force', () => {
  const k = 4;
  const logits = [0.3, -1.2, 2.5, 0, 80, 79.5, -3, 60, -0.5, -0.5, -0.5, -0.5];
  const labels = [2, 1, 3];
  const { values, grad } = softmaxCrossEntropy(logits, labels, k);
  labels.forEach((y, i) => {
    const z = logits.slice(i * k, (i + 1) * k);
    // −log softmax(z)_y, and ∂/∂z_c by central differences of the same float64 expression.
    const ce = (v: number[]) => -Math.log(Math.exp(v[y]) / v.reduce((s, x) => s + Math.exp(x), 0));
    const shifted = z.map((v) => v - 80);
    assert.ok(Math.abs(values[i] - ce(shifted)) <= 1e-6 * Math.max(1, ce(shifted)));
    for (let c = 0; c < k; c++) {
      const h = 1e-5;
      const up = shifted.map((v, j) => (j === c ? v + h : v));
      const dn = shifted.map((v, j) => (j === c ? v - h : v));
      const fd = (ce(up) - ce(dn)) / (2 * h);
      assert.ok(
        Math.abs(grad[i * k + c] - fd) <= 1e-6,
        `row ${i} class ${c}: ${grad[i * k + c]} vs ${fd}`,
      );
    }
  });
});

function mlp(out: tfl.layers.Layer, seed: number, hidden = 'relu') {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 7, activation: 'relu', inputShape: [5], name: 'd1' }));
  m.add(tfl.layers.dropout({ rate: 0.5 }));
  m.add(tfl.layers.dense({ units: 6, activation: hidden as 'relu', name: 'd2' }));
  m.add(out);
  randomizeWeights(m, seed, 0.8);
  return m;
}

test('softmax head: every test function and selection, relu, tanh and elu hidden layers', () => {
  const xs = randomTensor([9, 5], 2);
  const ys = randomLabels(9, 4, 3);
  for (const [hidden, seed] of [
    ['relu', 1],
    ['tanh', 4],
    ['elu', 5],
  ] as const) {
    const m = mlp(tfl.layers.dense({ units: 4, activation: 'softmax', name: 'out' }), seed, hidden);
    const selections: LayerSelection[] = ['all', 'last', { names: ['d2'] }, { names: ['d1'] }];
    for (const layers of selections) sameBits(planModel(m, layers), xs, ys, { kind: 'loss' });
    const plan = planModel(m);
    sameBits(plan, xs, null, { kind: 'logit' });
    sameBits(plan, xs, null, { kind: 'probability', classIndex: 2 });
    sameBits(plan, xs, ys, { kind: 'probability' });
  }
});

test('sigmoid, logits and regression heads', () => {
  const xs = randomTensor([8, 5], 12);
  const sig = mlp(tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'out' }), 11);
  sameBits(planModel(sig), xs, randomLabels(8, 2, 13), { kind: 'loss' });
  sameBits(planModel(sig), xs, null, { kind: 'logit', classIndex: 0 });
  const logits = mlp(tfl.layers.dense({ units: 3, name: 'out' }), 14);
  sameBits(planModel(logits), xs, randomLabels(8, 3, 15), { kind: 'loss' });
  const reg = mlp(tfl.layers.dense({ units: 1, name: 'out' }), 16, 'sigmoid');
  const targets = Array.from({ length: 8 }, (_, i) => Math.sin(i));
  sameBits(planModel(reg), xs, targets, { kind: 'loss' });
  sameBits(planModel(reg), xs, null, { kind: 'prediction' });
});

test('layers before the first selected one may be anything; a Flatten in the chain passes through', () => {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({ filters: 3, kernelSize: 2, activation: 'relu', inputShape: [4, 4, 2] }),
  );
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 5, activation: 'relu', name: 'd' }));
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  randomizeWeights(m, 21, 0.8);
  const xs = randomTensor([6, 4, 4, 2], 22);
  const ys = randomLabels(6, 3, 23);
  sameBits(planModel(m, { names: ['d', 'out'] }), xs, ys, { kind: 'loss' });
  // The convolution has no written-out input gradient: selecting it takes the tape.
  assert.equal(planModel(m).backward, 'tape');
});

test('the tape where a layer has no written-out gradient or a branch joins', () => {
  const norm = tfl.sequential();
  norm.add(tfl.layers.dense({ units: 4, activation: 'relu', inputShape: [5], name: 'd1' }));
  norm.add(tfl.layers.layerNormalization({ name: 'ln' }));
  norm.add(tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  assert.equal(planModel(norm).backward, 'tape');
  assert.equal(planModel(norm, 'last').backward, 'manual');

  const input = tfl.input({ shape: [5] });
  const h = tfl.layers.dense({ units: 5, activation: 'relu', name: 'h' }).apply(input);
  const skip = tfl.layers.add().apply([h, input] as tfl.SymbolicTensor[]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(skip);
  const branched = tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor });
  assert.equal(planModel(branched).backward, 'tape');
  assert.equal(planModel(branched, 'last').backward, 'manual');
});
