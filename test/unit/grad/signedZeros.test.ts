import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurize, featurizeFactors } from '../../../lib/grad';
import { useTestBackend } from '../../support/backend';
import { randomizeWeights, randomLabels, randomTensor } from './naive';

await useTestBackend();

const bits = new Uint32Array(1);
const f32 = new Float32Array(bits.buffer);
function bitsOf(v: number): number {
  f32[0] = v;
  return bits[0];
}

test('features hold +0 where the factors have -0, every other value bit for bit', () => {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 9, activation: 'relu', inputShape: [6], name: 'd1' }));
  m.add(tfl.layers.dense({ units: 8, activation: 'relu', name: 'd2' }));
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  randomizeWeights(m, 3, 0.9);
  const n = 40;
  const xs = randomTensor([n, 6], 5);
  const ys = randomLabels(n, 3, 6);
  const spec = { projector: { kind: 'none' as const }, batchSize: 16 };
  const { blocks } = featurizeFactors(m, xs, ys, spec);
  const f = featurize(m, xs, ys, spec);
  let negZeros = 0;
  let zeros = 0;
  blocks.forEach((b, l) => {
    const slice = f.grads.layers[l];
    assert.ok(slice.factors, `${b.name} is stored as factors`);
    for (let i = 0; i < n; i++) {
      const row = i * f.grads.dim + slice.offset;
      const raw = [
        ...(b.a as Float32Array).subarray(i * b.inDim, (i + 1) * b.inDim),
        ...b.delta.subarray(i * b.outDim, (i + 1) * b.outDim),
      ];
      raw.forEach((v, j) => {
        const stored = f.grads.data[row + j];
        if (Object.is(v, -0)) negZeros++;
        if (v === 0) {
          zeros++;
          assert.equal(bitsOf(stored), 0, `${b.name} row ${i} column ${j}: +0`);
        } else assert.equal(bitsOf(stored), bitsOf(v), `${b.name} row ${i} column ${j}`);
      });
    }
  });
  // The case is exercised: ReLU units that were off give -0 in δ.
  assert.ok(negZeros > 0, 'the factors have -0 values');
  assert.ok(zeros > negZeros);
  xs.dispose();
});
