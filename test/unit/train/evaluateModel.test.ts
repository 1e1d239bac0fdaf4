import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel } from '../../../lib/model/architectures';
import { initBackend } from '../../../lib/tf/backend';
import { evaluateModel } from '../../../lib/train/evaluateModel';
import { blobs } from '../../support/tinyRun';

await initBackend('cpu', () => {});

test('evaluateModel equals a float64 loss and accuracy computed row by row', () => {
  const ds = blobs('eval', 37, 5, 4);
  const model = buildModel({ kind: 'mlp', hidden: [6] }, { shape: [5], classes: 3 }, 2);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < ds.rows; i++) {
    const logits = Array.from(
      (
        model.predict(tf.tensor2d(ds.x!.subarray(i * 5, i * 5 + 5), [1, 5])) as tf.Tensor
      ).dataSync(),
    );
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += lse - logits[ds.labels[i]];
    if (logits.indexOf(max) === ds.labels[i]) correct++;
  }
  // Batches that do and do not divide the rows give the same figures.
  for (const batch of [1, 8, 512]) {
    const m = evaluateModel(model, ds, batch);
    assert.equal(m.rows, 37);
    assert.ok(Math.abs(m.loss - loss / 37) < 1e-5, `${m.loss} vs ${loss / 37}`);
    assert.equal(m.accuracy, correct / 37);
  }
});
