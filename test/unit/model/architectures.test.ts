import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel } from '../../../lib/model/architectures';
import { initBackend } from '../../../lib/tf/backend';

await initBackend('cpu', () => {});

/** Independent reference: the MLP's forward pass in float64 from its weights. */
function forward(weights: number[][][], biases: number[][], x: number[]): number[] {
  let h = x;
  weights.forEach((w, l) => {
    const out = biases[l].map((b, j) => b + h.reduce((s, v, i) => s + v * w[i][j], 0));
    h = l < weights.length - 1 ? out.map((v) => Math.max(0, v)) : out;
  });
  return h;
}

for (const hidden of [[4, 3], []]) {
  test(`an MLP takes tabular (rank-1) rows: hidden [${hidden}]`, async () => {
    const model = buildModel({ kind: 'mlp', hidden }, { shape: [5], classes: 3 });
    assert.deepEqual(model.inputs[0].shape, [null, 5]);
    assert.ok(!model.layers.some((l) => l.name === 'flatten'));
    const x = [0.5, -1, 2, 0.25, -0.75];
    const got = Array.from((model.predict(tf.tensor2d([x])) as tf.Tensor).dataSync());
    const ws = model.layers.map((l) => l.getWeights());
    const want = forward(
      ws.map((w) => w[0].arraySync() as number[][]),
      ws.map((w) => w[1].arraySync() as number[]),
      x,
    );
    for (const [j, v] of got.entries())
      assert.ok(Math.abs(v - want[j]) < 1e-5, `${v} vs ${want[j]}`);
  });
}

test('an MLP still flattens images', () => {
  const model = buildModel({ kind: 'mlp', hidden: [8] }, { shape: [4, 4, 1], classes: 2 });
  assert.equal(model.layers[0].name, 'flatten');
  assert.deepEqual(model.outputs[0].shape, [null, 2]);
});
