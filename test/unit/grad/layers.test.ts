import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurize, loraDense } from '../../../lib/grad';
import { gradientVectors } from '../../../lib/methods/factoredFeatures';
import { useTestBackend } from '../../support/backend';
import { checkAgainstNaive } from './checkAgainstNaive';
import { randomizeWeights, randomLabels, randomTensor } from './naive';

await useTestBackend();

test('Dense over a sequence (3-D input, summed over positions)', () => {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 6, activation: 'relu', inputShape: [4, 5], name: 'seq' }));
  m.add(tfl.layers.globalAveragePooling1d({}));
  m.add(tfl.layers.dense({ units: 3, name: 'head' }));
  randomizeWeights(m, 11);
  checkAgainstNaive(m, randomTensor([5, 4, 5], 12), randomLabels(5, 3, 13));
});

test('Conv2D over patches (same and valid padding, strides), max pooling, flatten', () => {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      inputShape: [6, 6, 2],
      name: 'c1',
    }),
  );
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(
    tfl.layers.conv2d({ filters: 3, kernelSize: [2, 3], strides: 2, padding: 'valid', name: 'c2' }),
  );
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 3, name: 'head' }));
  randomizeWeights(m, 21);
  checkAgainstNaive(m, randomTensor([4, 6, 6, 2], 22), randomLabels(4, 3, 23));
});

test('Embedding (repeated tokens) with a Dense over the sequence', () => {
  const m = tfl.sequential();
  m.add(tfl.layers.embedding({ inputDim: 7, outputDim: 4, inputLength: 5, name: 'emb' }));
  m.add(tfl.layers.dense({ units: 5, activation: 'tanh', name: 'seq' }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 3, name: 'head' }));
  randomizeWeights(m, 31);
  const tok = randomLabels(4 * 5, 7, 32);
  tok[1] = tok[3] = tok[4]; // same token at several positions of example 0
  const xs = tf.tensor(Array.from(tok), [4, 5]);
  checkAgainstNaive(m, xs, randomLabels(4, 3, 33));
});

test('LoRA adapters on Dense: gradients w.r.t. A and B only; serialization round trip', async () => {
  const m = tfl.sequential();
  m.add(
    loraDense({ units: 6, rank: 2, alpha: 4, activation: 'relu', inputShape: [5], name: 'lora1' }),
  );
  m.add(tfl.layers.dense({ units: 3, name: 'head', trainable: false }));
  randomizeWeights(m, 41);
  const xs = randomTensor([5, 5], 42);
  const ys = randomLabels(5, 3, 43);
  const f = checkAgainstNaive(m, xs, ys, { layers: 'adapters' });
  assert.deepEqual(
    gradientVectors(f.grads).layers.map((l) => [l.name, l.size]),
    [
      ['lora1/A', 5 * 2],
      ['lora1/B', 2 * 6],
    ],
  );
  // Save and load through model artifacts: same predictions.
  let saved: tf.io.ModelArtifacts | null = null;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const loaded = await tfl.loadLayersModel(
    tf.io.fromMemory(saved as unknown as tf.io.ModelArtifacts),
  );
  const p1 = (m.predict(xs) as tf.Tensor).dataSync();
  const p2 = (loaded.predict(xs) as tf.Tensor).dataSync();
  assert.deepEqual(Array.from(p2), Array.from(p1));
  assert.equal(loaded.layers[0].getClassName(), 'LoraDense');
});

test('LoRA on a sequence, all trainable parameters', () => {
  const m = tfl.sequential();
  m.add(loraDense({ units: 4, rank: 3, inputShape: [3, 5], name: 'lora_seq' }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 3, name: 'head' }));
  randomizeWeights(m, 51);
  checkAgainstNaive(m, randomTensor([4, 3, 5], 52), randomLabels(4, 3, 53));
});

test('test functions: logit and probability of a chosen class', () => {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 6, activation: 'relu', inputShape: [4], name: 'd1' }));
  m.add(tfl.layers.dense({ units: 3, name: 'out' }));
  randomizeWeights(m, 61);
  const xs = randomTensor([4, 4], 62);
  checkAgainstNaive(m, xs, null, { fn: { kind: 'logit', classIndex: 2 } });
  checkAgainstNaive(m, xs, null, { fn: { kind: 'probability', classIndex: 1 } });
});

test('unsupported selected layer: named with its type and how to exclude it', () => {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 4, inputShape: [3], name: 'd1' }));
  m.add(tfl.layers.prelu({ name: 'act' }));
  m.add(tfl.layers.dense({ units: 2, name: 'out' }));
  const xs = randomTensor([2, 3], 1);
  assert.throws(
    () => featurize(m, xs, [0, 1], { projector: { kind: 'none' } }),
    /layer 'act' \(PReLU\) is not supported for per-example gradients.*exclude it .*layers: \{names: \["d1","out"\]\}/,
  );
  // Selecting around it works: the unselected layer just runs forward.
  const f = featurize(m, xs, [0, 1], { layers: 'last', projector: { kind: 'none' } });
  assert.equal(gradientVectors(f.grads).dim, 5 * 2);
  const g = featurize(m, xs, [0, 1], {
    layers: { names: ['d1', 'out'] },
    projector: { kind: 'none' },
  });
  assert.equal(gradientVectors(g.grads).dim, 4 * 4 + 5 * 2);
});
