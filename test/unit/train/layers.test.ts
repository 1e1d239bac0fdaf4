import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchIndices } from '../../../lib/train/batchOrder';
import { dropoutMask } from '../../../lib/train/dropoutMask';
import { forwardLogits, planChain } from '../../../lib/train/forward';
import { readWeights, resume, train, writeWeights } from '../../../lib/train/trainer';
import { deserializeTrainState, serializeTrainState } from '../../../lib/train/trainState';
import { gaussianData, lcg, maxAbsDiff, mlp, tf, tfl } from './helpers';

await tf.setBackend('cpu');

test('training-time dropout applies the counter-based masks (float64 reference)', () => {
  const model = mlp(4, 6, 3, { dropout: 0.5, softmax: true });
  const { x } = gaussianData(5, 4, 3, 1);
  const ids = Int32Array.from([9, 2, 14, 0, 7]);
  const logits = forwardLogits(planChain(model), tf.tensor2d(x, [5, 4]), {
    seed: 3,
    step: 17,
    exampleIds: ids,
  }).arraySync();
  const [W1, b1, W2, b2] = readWeights(model).map((w) => w.data);
  // The Dropout layer is layer 1 of the chain (Dense, Dropout, Dense).
  const mask = dropoutMask(3, 17, 1, ids, 6, 0.5);
  assert.ok(mask.some((v) => v === 0) && mask.some((v) => v === 2));
  for (let i = 0; i < 5; i++) {
    const h = Array.from({ length: 6 }, (_, u) => {
      let s = b1[u];
      for (let j = 0; j < 4; j++) s += x[i * 4 + j] * W1[j * 6 + u];
      return Math.tanh(s) * mask[i * 6 + u];
    });
    for (let c = 0; c < 3; c++) {
      let z = b2[c];
      for (let u = 0; u < 6; u++) z += h[u] * W2[u * 3 + c];
      // Pre-activation of the softmax Dense: the logits.
      assert.ok(Math.abs(logits[i][c] - z) < 1e-5, `${logits[i][c]} vs ${z}`);
    }
  }
  // Without a dropout context (inference) no mask is applied.
  const inf = forwardLogits(planChain(model), tf.tensor2d(x, [5, 4])).arraySync();
  assert.ok(maxAbsDiff(inf.flat(), logits.flat()) > 1e-3);
});

async function resumesExactly(
  make: () => tfl.LayersModel,
  x: tf.Tensor,
  labels: Int32Array,
): Promise<void> {
  const config = {
    optimizer: { kind: 'adam' as const },
    learningRate: 0.01,
    batchSize: 4,
    seed: 5,
  };
  const a = make();
  const init = readWeights(a);
  await train(a, { x, labels }, config, 7);
  const b = make();
  // Same starting point as `a` even where an initializer is unseeded.
  writeWeights(b, init);
  const mid = deserializeTrainState(serializeTrainState(await train(b, { x, labels }, config, 3)));
  const c = make();
  await resume(c, { x, labels }, mid, 7);
  const wa = readWeights(a);
  const wc = readWeights(c);
  for (let k = 0; k < wa.length; k++) assert.equal(maxAbsDiff(wa[k].data, wc[k].data), 0);
  assert.ok(wa.some((w, k) => maxAbsDiff(w.data, init[k].data) > 1e-4));
}

test('a small CNN trains deterministically and resumes exactly', async () => {
  const r = lcg(4);
  const n = 10;
  const x = tf.tensor4d(
    Float32Array.from({ length: n * 6 * 6 }, () => r() - 0.5),
    [n, 6, 6, 1],
  );
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  await resumesExactly(
    () => {
      const m = tfl.sequential();
      m.add(
        tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
      );
      m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dropout({ rate: 0.25 }));
      m.add(
        tfl.layers.dense({
          units: 2,
          kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
        }),
      );
      return m;
    },
    x,
    labels,
  );
});

test('an Embedding model trains deterministically and resumes exactly', async () => {
  const n = 12;
  const ids = Float32Array.from({ length: n * 5 }, (_, i) => (i * 7) % 20);
  const x = tf.tensor2d(ids, [n, 5]);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  await resumesExactly(
    () => {
      const m = tfl.sequential();
      m.add(
        tfl.layers.embedding({
          inputDim: 20,
          outputDim: 4,
          inputLength: 5,
          embeddingsInitializer: tfl.initializers.randomUniform({
            minval: -0.5,
            maxval: 0.5,
            seed: 2,
          }),
        }),
      );
      m.add(tfl.layers.globalAveragePooling1d());
      m.add(
        tfl.layers.dense({
          units: 3,
          activation: 'softmax',
          kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
        }),
      );
      return m;
    },
    x,
    labels,
  );
  assert.equal(batchIndices(5, 0, n, 4).length, 4);
});

test('non-chain models are rejected with a clear error', () => {
  const input = tfl.input({ shape: [4] });
  const a = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: sum });
  assert.throws(() => planChain(model), /not a sequential chain/);
});
