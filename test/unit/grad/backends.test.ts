/**
 * The new layers and merges on the wasm backend (what CPU workers run) give the factors the cpu
 * backend gives (the naive-autodiff checks run on cpu): wasm lacks some gradient kernels, which
 * lib/tf/kernels supplies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurizeFactors } from '../../../lib/grad';
import { initBackend } from '../../../lib/tf/backend';
import { randomizeWeights, randomLabels, randomTensor } from './naive';

function cnn() {
  const input = tfl.input({ shape: [6, 6, 2] });
  const dw = tfl.layers
    .depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw' })
    .apply(input);
  const bn = tfl.layers.batchNormalization({ name: 'bn' }).apply(dw);
  const sep = tfl.layers
    .separableConv2d({ filters: 4, kernelSize: 2, padding: 'same', name: 'sep' })
    .apply(bn);
  const sum = tfl.layers.add().apply([bn, sep] as tfl.SymbolicTensor[]);
  const drop = tfl.layers.dropout({ rate: 0.5 }).apply(sum);
  const pool = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(drop);
  const flat = tfl.layers.flatten().apply(pool);
  const out = tfl.layers.dense({ units: 3, name: 'out' }).apply(flat) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out });
  randomizeWeights(m, 401);
  const l = m.getLayer('bn');
  const [g, b, mean, v] = l.getWeights();
  l.setWeights([g, b, mean, tf.add(tf.abs(v), 0.5)]);
  return m;
}

function seq() {
  const input = tfl.input({ shape: [8, 3] });
  const c = tfl.layers
    .conv1d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c' })
    .apply(input);
  const ln = tfl.layers.layerNormalization({ name: 'ln' }).apply(c);
  const d = tfl.layers.dense({ units: 4, activation: 'tanh', name: 'd' }).apply(ln);
  const cat = tfl.layers.concatenate().apply([c, d] as tfl.SymbolicTensor[]);
  const gap = tfl.layers.globalAveragePooling1d().apply(cat);
  const out = tfl.layers
    .dense({ units: 1, activation: 'sigmoid', name: 'out' })
    .apply(gap) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out });
  randomizeWeights(m, 402);
  return m;
}

for (const [name, make, shape, classes] of [
  ['depthwise + BatchNormalization + separable + residual Add', cnn, [5, 6, 6, 2], 3],
  ['Conv1D + LayerNormalization + Concatenate, sigmoid head', seq, [5, 8, 3], 2],
] as const) {
  test(`wasm gives the cpu's factors: ${name}`, async () => {
    await initBackend('cpu', () => {});
    const m = make();
    const ys = randomLabels(5, classes, 403);
    const run = async (b: 'cpu' | 'wasm') => {
      await initBackend(b, () => {});
      const xs = randomTensor([...shape], 404);
      const r = featurizeFactors(m, xs, ys, {});
      xs.dispose();
      return r;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    assert.equal(wasm.blocks.length, cpu.blocks.length);
    cpu.blocks.forEach((b, k) => {
      const w = wasm.blocks[k];
      assert.equal(w.name, b.name);
      for (const key of ['a', 'delta'] as const) {
        const x = b[key] as Float32Array;
        const y = w[key] as Float32Array;
        assert.equal(y.length, x.length, `${b.name}.${key} length`);
        let err = 0;
        let scale = 0;
        for (let i = 0; i < x.length; i++) {
          err = Math.max(err, Math.abs(x[i] - y[i]));
          scale = Math.max(scale, Math.abs(x[i]));
        }
        assert.ok(scale > 0, `${b.name}.${key} is not all zero`);
        assert.ok(err <= 1e-4 * Math.max(1, scale), `${b.name}.${key}: max diff ${err}`);
      }
    });
    await initBackend('cpu', () => {});
  });
}
