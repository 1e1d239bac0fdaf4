import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurize, featurizeFactors } from '../../../lib/grad';
import { gradientVectors } from '../../../lib/methods/factoredFeatures';
import { useTestBackend } from '../../support/backend';
import {
  maxAbsDiff,
  naiveGradients,
  randomizeWeights,
  randomLabels,
  randomTensor,
  rowsOf,
} from './naive';

await useTestBackend();

function mlp() {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 7, activation: 'relu', inputShape: [5], name: 'd1' }));
  m.add(tfl.layers.dropout({ rate: 0.5 }));
  m.add(tfl.layers.dense({ units: 6, activation: 'tanh', name: 'd2' }));
  m.add(tfl.layers.dense({ units: 4, activation: 'softmax', name: 'out' }));
  randomizeWeights(m, 1, 0.8);
  return m;
}

test('Dense: factored per-example gradients equal naive autodiff (softmax output)', () => {
  const model = mlp();
  const xs = randomTensor([9, 5], 2);
  const ys = randomLabels(9, 4, 3);
  const f = featurize(model, xs, ys, { projector: { kind: 'none' }, batchSize: 4 });
  const { blocks } = featurizeFactors(model, xs, ys, {});
  const ref = naiveGradients(model, xs, ys, blocks);
  const v = gradientVectors(f.grads);
  const { err, scale } = maxAbsDiff(rowsOf(v.data, 9, v.dim), ref.grads);
  assert.ok(scale > 0.01, 'gradients are not trivially zero');
  assert.ok(err <= 1e-6 * Math.max(1, scale), `max abs error ${err}`);
  assert.deepEqual(
    f.grads.layers.map((l) => l.name),
    ['d1', 'd2', 'out'],
  );
  for (let i = 0; i < 9; i++) {
    assert.ok(Math.abs(f.loss[i] - ref.values[i]) < 1e-5);
    const sq = ref.grads[i].reduce((s, v) => s + v * v, 0);
    assert.ok(Math.abs(f.sqNorm[i] - sq) <= 1e-5 * sq, `sqNorm ${f.sqNorm[i]} vs ${sq}`);
  }
});

test('Dense: last-layer and named selections', () => {
  const model = mlp();
  const xs = randomTensor([3, 5], 4);
  const ys = randomLabels(3, 4, 5);
  const last = featurize(model, xs, ys, { layers: 'last', projector: { kind: 'none' } });
  // Exact factors (6 inputs + the bias's 1, 4 outputs) are smaller than the 7 × 4 gradient.
  assert.deepEqual(last.grads.layers, [
    { name: 'out', offset: 0, size: 7 + 4, factors: { positions: 1, inDim: 7, outDim: 4 } },
  ]);
  const named = featurize(model, xs, ys, {
    layers: { names: ['d2'] },
    projector: { kind: 'none' },
  });
  const all = featurize(model, xs, ys, { projector: { kind: 'none' } });
  const off = all.grads.layers[1].offset;
  for (let i = 0; i < 3; i++) {
    const a = named.grads.data.subarray(i * named.grads.dim, (i + 1) * named.grads.dim);
    const b = all.grads.data.subarray(
      i * all.grads.dim + off,
      i * all.grads.dim + off + named.grads.dim,
    );
    assert.deepEqual(Array.from(a), Array.from(b));
  }
  assert.throws(
    () => featurize(model, xs, ys, { layers: { names: ['nope'] }, projector: { kind: 'none' } }),
    /no layer named 'nope'/,
  );
});

test('bad input: NaN, labels out of range, missing labels', () => {
  const model = mlp();
  const xs = tf.tensor2d([[1, 2, 3, 4, Number.NaN]]);
  assert.throws(() => featurize(model, xs, [0], { projector: { kind: 'none' } }), /NaN/);
  const ok = randomTensor([2, 5], 1);
  assert.throws(
    () => featurize(model, ok, [0, 4], { projector: { kind: 'none' } }),
    /out of range/,
  );
  assert.throws(() => featurize(model, ok, null, { projector: { kind: 'none' } }), /needs labels/);
  assert.throws(
    () => featurize(model, ok, [0, 1], { projector: { kind: 'kronecker', k1: 0, k2: 2, seed: 1 } }),
    /k1/,
  );
});
