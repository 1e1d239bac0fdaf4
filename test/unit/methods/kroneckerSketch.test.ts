import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurize } from '../../../lib/grad';
import { sketchFeatures } from '../../../lib/methods/influence/kroneckerSketch';
import { useTestBackend } from '../../support/backend';
import { randomizeWeights, randomLabels, randomTensor } from '../grad/naive';

await useTestBackend();

function mlp() {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 9, activation: 'relu', inputShape: [6], name: 'd1' }));
  m.add(tfl.layers.dense({ units: 5, activation: 'softmax', name: 'out' }));
  randomizeWeights(m, 4, 0.8);
  return m;
}

const xs = randomTensor([11, 6], 5);
const ys = randomLabels(11, 5, 6);

test('a sketch of exact factors is what the Kronecker projector stores from the same factors', () => {
  const model = mlp();
  const exact = featurize(model, xs, ys, { projector: { kind: 'none' }, batchSize: 4 });
  for (const sketch of [
    { k1: 4, k2: 3, seed: 7 },
    // k2 above the output width keeps δ exact (the projector's identity side).
    { k1: 2, k2: 32, seed: 1 },
  ]) {
    const want = featurize(model, xs, ys, {
      projector: { kind: 'kronecker', ...sketch, dtype: 'float32', engine: 'tf' },
      batchSize: 4,
    });
    const got = sketchFeatures(exact, sketch);
    assert.deepEqual(got.grads.layers, want.grads.layers);
    assert.ok(
      got.grads.layers.every((l) => l.factors),
      'sketched layers keep factors',
    );
    assert.deepEqual(got.grads.data, want.grads.data);
    // What is not the curvature's stays as stored.
    assert.equal(got.loss, exact.loss);
    assert.equal(got.sqNorm, exact.sqNorm);
  }
});

test('a layer stored as a vector is refused, named', () => {
  const model = mlp();
  const projected = featurize(model, xs, ys, {
    projector: { kind: 'gaussian', k: 8, seed: 2 },
    batchSize: 4,
  });
  assert.throws(
    () => sketchFeatures(projected, { k1: 4, k2: 3, seed: 7 }),
    /selfScore\.sketch: layer "d1" is stored as a \(projected\) gradient, not as factors/,
  );
});
