/**
 * Conv1D, DepthwiseConv2D and SeparableConv2D, and normalization over positions, against naive
 * per-example autodiff (paddings, strides, dilations, depth multipliers, with and without bias).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { planModel } from '../../../lib/grad';
import { gradientVectors } from '../../../lib/methods/factoredFeatures';
import { useTestBackend } from '../../support/backend';
import { checkAgainstNaive } from './checkAgainstNaive';
import { randomizeWeights, randomLabels, randomTensor } from './naive';

await useTestBackend();

test('Conv1D: same, strided valid, no bias; LayerNormalization over the sequence', () => {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv1d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      inputShape: [9, 2],
      name: 'c_same',
    }),
  );
  m.add(tfl.layers.conv1d({ filters: 3, kernelSize: 2, strides: 2, name: 'c_valid' }));
  m.add(tfl.layers.layerNormalization({ name: 'ln' }));
  m.add(
    tfl.layers.conv1d({
      filters: 3,
      kernelSize: 3,
      padding: 'valid',
      useBias: false,
      activation: 'tanh',
      name: 'c_nobias',
    }),
  );
  m.add(tfl.layers.maxPooling1d({ poolSize: 2 }));
  m.add(tfl.layers.globalAveragePooling1d({}));
  m.add(tfl.layers.dense({ units: 3, name: 'head' }));
  randomizeWeights(m, 301);
  const f = checkAgainstNaive(m, randomTensor([4, 9, 2], 302), randomLabels(4, 3, 303));
  assert.deepEqual(
    gradientVectors(f.grads).layers.map((l) => [l.name, l.size]),
    [
      ['c_same', (3 * 2 + 1) * 4],
      ['c_valid', (2 * 4 + 1) * 3],
      ['ln', 3 + 3],
      ['c_nobias', 3 * 3 * 3],
      ['head', 4 * 3],
    ],
  );
});

test('DepthwiseConv2D: depth multiplier 2 with bias (same); strided valid without bias', () => {
  const m = tfl.sequential();
  m.add(
    tfl.layers.depthwiseConv2d({
      kernelSize: 3,
      depthMultiplier: 2,
      padding: 'same',
      activation: 'relu',
      inputShape: [5, 5, 2],
      name: 'dw1',
    }),
  );
  m.add(
    tfl.layers.depthwiseConv2d({
      kernelSize: [2, 3],
      strides: 2,
      useBias: false,
      name: 'dw2',
    }),
  );
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 3, name: 'head' }));
  randomizeWeights(m, 311);
  const f = checkAgainstNaive(m, randomTensor([4, 5, 5, 2], 312), randomLabels(4, 3, 313));
  assert.deepEqual(
    gradientVectors(f.grads).layers.map((l) => [l.name, l.size]),
    [
      ['dw1', 3 * 3 * 2 * 2 + 4],
      ['dw2', 2 * 3 * 4],
      ['head', (2 * 2 * 4 + 1) * 3],
    ],
  );
});

test('SeparableConv2D (depthwise + pointwise kernels, bias), strided; BatchNormalization after', () => {
  const m = tfl.sequential();
  m.add(
    tfl.layers.separableConv2d({
      filters: 3,
      kernelSize: 2,
      depthMultiplier: 2,
      padding: 'same',
      activation: 'tanh',
      inputShape: [5, 5, 2],
      name: 'sep1',
    }),
  );
  m.add(
    tfl.layers.separableConv2d({
      filters: 2,
      kernelSize: 2,
      strides: 2,
      useBias: false,
      name: 'sep2',
    }),
  );
  m.add(tfl.layers.batchNormalization({ name: 'bn' }));
  m.add(tfl.layers.globalMaxPooling2d({}));
  m.add(tfl.layers.dense({ units: 3, name: 'head' }));
  randomizeWeights(m, 321);
  // Moving variance must be positive; a fixed value keeps the test simple.
  const bn = m.getLayer('bn');
  const [gamma, beta, mean] = bn.getWeights();
  bn.setWeights([gamma, beta, mean, tf.add(tf.abs(randomTensor([2], 322)), 0.5)]);
  const f = checkAgainstNaive(m, randomTensor([4, 5, 5, 2], 323), randomLabels(4, 3, 324));
  assert.deepEqual(
    gradientVectors(f.grads).layers.map((l) => [l.name, l.size]),
    [
      ['sep1/depthwise', 2 * 2 * 2 * 2],
      ['sep1/pointwise', (4 + 1) * 3],
      ['sep2/depthwise', 2 * 2 * 3],
      ['sep2/pointwise', 3 * 2],
      ['bn', 2 + 2],
      ['head', 3 * 3],
    ],
  );
});

test('a dilated convolution at or after a selected layer is refused, named', () => {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ filters: 2, kernelSize: 1, inputShape: [5, 5, 2], name: 'c' }));
  m.add(tfl.layers.depthwiseConv2d({ kernelSize: 2, dilationRate: 2, name: 'dil' }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 2, name: 'head' }));
  assert.throws(
    () => planModel(m, { names: ['c', 'head'] }),
    /layer 'dil' \(DepthwiseConv2D\) has dilation rate \[2,2\]: tfjs has no gradient for a dilated convolution/,
  );
  // After the last selected layer only a forward pass goes through it.
  assert.equal(planModel(m, 'last').steps.filter((s) => s.selected).length, 1);
});
