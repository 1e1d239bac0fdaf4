/**
 * Output heads (lib/grad/head.ts) against naive per-example autodiff of the loss Keras defines
 * from the model's own output: softmax cross-entropy (as an activation or a separate layer),
 * binary cross-entropy of a single sigmoid unit, squared error of a single linear unit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurize, planModel } from '../../../lib/grad';
import { useTestBackend } from '../../support/backend';
import { checkAgainstNaive } from './checkAgainstNaive';
import { randomizeWeights, randomLabels, randomTensor, rng } from './naive';

await useTestBackend();

function mlp(out: tfl.layers.Layer[], seed: number) {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 6, activation: 'relu', inputShape: [5], name: 'd1' }));
  for (const l of out) m.add(l);
  randomizeWeights(m, seed);
  return m;
}

test('sigmoid unit with binary cross-entropy: loss, logit and probability of either class', () => {
  const m = mlp([tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'out' })], 201);
  assert.equal(planModel(m).head.kind, 'sigmoid');
  assert.equal(planModel(m).numClasses, 2);
  const xs = randomTensor([6, 5], 202);
  checkAgainstNaive(m, xs, randomLabels(6, 2, 203));
  for (const classIndex of [0, 1]) {
    checkAgainstNaive(m, xs, null, { fn: { kind: 'logit', classIndex } });
    checkAgainstNaive(m, xs, null, { fn: { kind: 'probability', classIndex } });
  }
  assert.throws(
    () => featurize(m, xs, [0, 1, 2, 0, 1, 0], { projector: { kind: 'none' } }),
    /label 2 of example 2 is out of range \[0, 2\)/,
  );
});

test('sigmoid as a separate Activation layer; softmax as a separate Activation layer', () => {
  const s = mlp(
    [tfl.layers.dense({ units: 1, name: 'z' }), tfl.layers.activation({ activation: 'sigmoid' })],
    211,
  );
  assert.equal(planModel(s).head.kind, 'sigmoid');
  checkAgainstNaive(s, randomTensor([5, 5], 212), randomLabels(5, 2, 213));
  const c = mlp(
    [tfl.layers.dense({ units: 3, name: 'z' }), tfl.layers.activation({ activation: 'softmax' })],
    214,
  );
  assert.equal(planModel(c).head.kind, 'softmax');
  checkAgainstNaive(c, randomTensor([5, 5], 215), randomLabels(5, 3, 216));
});

test('linear unit with squared error (regression): loss and prediction', () => {
  const m = mlp(
    [tfl.layers.layerNormalization({ name: 'ln' }), tfl.layers.dense({ units: 1, name: 'out' })],
    221,
  );
  assert.equal(planModel(m).head.kind, 'regression');
  const xs = randomTensor([6, 5], 222);
  const r = rng(223);
  const targets = Float32Array.from({ length: 6 }, () => 3 * r() - 1.5);
  const f = checkAgainstNaive(m, xs, targets);
  assert.ok(f.loss.every((v) => v >= 0));
  checkAgainstNaive(m, xs, null, { fn: { kind: 'prediction' } });
  assert.throws(
    () => featurize(m, xs, null, { projector: { kind: 'none' }, testFunction: { kind: 'logit' } }),
    /test function 'logit' needs a classification head/,
  );
  assert.throws(
    () => featurize(m, xs, [0, 1, Number.NaN, 0, 1, 0], { projector: { kind: 'none' } }),
    /target NaN of example 2 is not finite/,
  );
});

test('a classification head has no prediction; unsupported heads are named', () => {
  const c = mlp([tfl.layers.dense({ units: 3, name: 'out' })], 231);
  const xs = randomTensor([2, 5], 232);
  assert.throws(
    () =>
      featurize(c, xs, null, { projector: { kind: 'none' }, testFunction: { kind: 'prediction' } }),
    /'prediction' is for a regression output/,
  );
  const multi = mlp([tfl.layers.dense({ units: 3, activation: 'sigmoid', name: 'out' })], 233);
  assert.throws(() => planModel(multi), /output layer 'out' has a sigmoid over 3 units/);
  const tanh = mlp([tfl.layers.dense({ units: 3, activation: 'tanh', name: 'out' })], 234);
  assert.throws(() => planModel(tanh), /output layer 'out' has activation 'tanh'/);
});
