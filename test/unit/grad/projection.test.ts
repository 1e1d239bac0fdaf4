import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  decodeFloat16,
  encodeFloat16,
  exactDots,
  featurize,
  featurizeFactors,
  projectBlocks,
  toHalf,
} from '../../../lib/grad';
import { initBackend } from '../../../lib/tf/backend';
import { COMPARED_BACKENDS } from '../../support/backend';
import { randomizeWeights, randomLabels, randomTensor, rng } from './naive';
import { fixtureBlocks } from './projectionFixture';

const sha = (a: Float32Array) =>
  createHash('sha256')
    .update(Buffer.from(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');
const kinds = ['kronecker', 'gaussian', 'rademacher'] as const;
const specOf = (kind: (typeof kinds)[number], k = 16, seed = 7) =>
  kind === 'kronecker' ? { kind, k1: 4, k2: 3, seed } : { kind, k, seed };

test('projection is bit-identical across runs and across processes', () => {
  for (const kind of kinds) {
    const a = projectBlocks(fixtureBlocks(), specOf(kind)).data;
    const b = projectBlocks(fixtureBlocks(), specOf(kind)).data;
    assert.equal(sha(a), sha(b));
    const child = execFileSync(
      process.execPath,
      ['--import', 'tsx', new URL('./projectionChild.ts', import.meta.url).pathname, kind],
      { encoding: 'utf8' },
    );
    assert.equal(child.trim(), sha(a), `${kind}: child process differs`);
    // A different seed gives a different matrix.
    assert.notEqual(sha(projectBlocks(fixtureBlocks(), specOf(kind, 16, 8)).data), sha(a));
  }
});

test('the same factors project bit-identically with every backend active (js engine)', async () => {
  await initBackend('cpu', () => {});
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 5, activation: 'relu', inputShape: [6], name: 'd1' }));
  m.add(tfl.layers.dense({ units: 3, name: 'out' }));
  randomizeWeights(m, 3);
  const xs = randomTensor([4, 6], 4);
  const ys = randomLabels(4, 3, 5);
  const { blocks } = featurizeFactors(m, xs, ys, {});
  const onCpu = kinds.map((k) => sha(projectBlocks(blocks, specOf(k)).data));
  const cpuFeat = featurize(m, xs, ys, { projector: specOf('kronecker') });
  const others = COMPARED_BACKENDS.filter((b) => b !== 'cpu');
  assert.ok(others.length >= 1);
  for (const b of others) {
    await initBackend(b, () => {});
    assert.equal(tf.getBackend(), b);
    const onB = kinds.map((k) => sha(projectBlocks(blocks, specOf(k)).data));
    assert.deepEqual(onB, onCpu, `${b}: projected bits differ from cpu`);
    // End to end the factors come from each backend's own arithmetic: equal up to float32 rounding.
    const xb = tf.tensor(xs.dataSync(), xs.shape);
    const feat = featurize(m, xb, ys, { projector: specOf('kronecker') });
    for (let i = 0; i < cpuFeat.grads.data.length; i++) {
      assert.ok(Math.abs(cpuFeat.grads.data[i] - feat.grads.data[i]) < 1e-5, b);
    }
  }
  await initBackend('cpu', () => {});
});

/** Mean relative error of projected inner products vs the exact ones, over pairs and seeds. */
function projectionError(kind: (typeof kinds)[number], k: number): number {
  const blocks = fixtureBlocks(12, 5).slice(0, 1);
  const exact = exactDots(blocks, blocks).total;
  const n = blocks[0].rows;
  let sum = 0;
  let count = 0;
  for (let seed = 0; seed < 40; seed++) {
    const spec = kind === 'kronecker' ? { kind, k1: k, k2: k, seed } : { kind, k: k * k, seed };
    const g = projectBlocks(blocks, spec);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let p = 0; p < g.dim; p++) d += g.data[i * g.dim + p] * g.data[j * g.dim + p];
        const norm = Math.sqrt(exact[i * n + i] * exact[j * n + j]);
        sum += ((d - exact[i * n + j]) / norm) ** 2;
        count++;
      }
    }
  }
  return Math.sqrt(sum / count);
}

test('projected inner-product error shrinks like 1/sqrt(k)', () => {
  for (const kind of ['gaussian', 'rademacher'] as const) {
    // Dense projections: total k = 4, 16, 64, 256 (passed as k·k below).
    const ks = [2, 4, 8, 16];
    const xs = ks.map((k) => Math.log(k * k));
    const ys = ks.map((k) => Math.log(projectionError(kind, k)));
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    let num = 0;
    let den = 0;
    xs.forEach((x, i) => {
      num += (x - mx) * (ys[i] - my);
      den += (x - mx) ** 2;
    });
    const slope = num / den;
    if (process.env.SHOW_SLOPE) console.log(kind, slope);
    assert.ok(slope > -0.65 && slope < -0.35, `${kind}: fitted slope ${slope}`);
  }
  // Kronecker: error falls as k1 = k2 grows (slope is not exactly −1/2 per total k).
  assert.ok(projectionError('kronecker', 16) < projectionError('kronecker', 2) / 2);
});

test('float16 storage round trip and featurize dtype', () => {
  const r = rng(9);
  const v = Float32Array.from(
    { length: 1000 },
    () => (r() * 2 - 1) * 10 ** Math.floor(r() * 8 - 4),
  );
  v[0] = 0;
  v[1] = 65504;
  v[2] = -1e-7;
  const back = decodeFloat16(encodeFloat16(v));
  for (let i = 0; i < v.length; i++) {
    const tol = Math.max(Math.abs(v[i]) * 2 ** -11, 2 ** -25);
    assert.ok(Math.abs(back[i] - v[i]) <= tol, `${v[i]} → ${back[i]}`);
  }
  assert.deepEqual(decodeFloat16(encodeFloat16(back)), back, 'idempotent');
  assert.equal(decodeFloat16(encodeFloat16(Float32Array.of(1e6)))[0], Number.POSITIVE_INFINITY);
  // featurize with dtype float16 returns exactly what storing as float16 would give back.
  const g32 = projectBlocks(fixtureBlocks(), { kind: 'gaussian', k: 8, seed: 1 }).data;
  const g16 = projectBlocks(fixtureBlocks(), {
    kind: 'gaussian',
    k: 8,
    seed: 1,
    dtype: 'float16',
  }).data;
  assert.deepEqual(g16, decodeFloat16(encodeFloat16(g32)));
});

test('the fast float16 encoder equals the scalar reference on every exponent and tie', () => {
  const bits: number[] = [];
  const r = rng(11);
  for (let e = 0; e < 256; e++) {
    for (const sign of [0, 0x80000000]) {
      // The mantissas around float16's rounding boundary (ties, either side) and random ones.
      for (const m of [0, 1, 0xfff, 0x1000, 0x1001, 0x2fff, 0x3000, 0x3001, 0x7fffff, 0x7ff000]) {
        bits.push((sign | (e << 23) | m) >>> 0);
      }
      for (let k = 0; k < 40; k++) bits.push((sign | (e << 23) | Math.floor(r() * 0x800000)) >>> 0);
    }
  }
  const v = new Float32Array(Uint32Array.from(bits).buffer);
  const fast = encodeFloat16(v);
  for (let i = 0; i < v.length; i++) {
    assert.equal(fast[i], toHalf(v[i]), `0x${bits[i].toString(16)} (${v[i]})`);
  }
});

test('a Kronecker side no larger than its k is kept exact, on both engines', async () => {
  await initBackend('cpu', () => {});
  const exact = projectBlocks(fixtureBlocks(), { kind: 'none' });
  for (const engine of ['js', 'tf'] as const) {
    const both = projectBlocks(fixtureBlocks(), {
      kind: 'kronecker',
      k1: 64,
      k2: 64,
      seed: 3,
      engine,
    });
    assert.deepEqual(both.layers, exact.layers, `${engine}: same columns as no projection`);
    const err = both.data.reduce((m, v, i) => Math.max(m, Math.abs(v - exact.data[i])), 0);
    assert.ok(err < 1e-5, `${engine}: max difference ${err}`);
  }
  // Only the output side kept: 'd' (9 → 4 inputs, 5 outputs) stands for 4 × 5 columns, stored
  // as its 4 + 5 projected factors (factorStorage.test.ts).
  const half = projectBlocks(fixtureBlocks(), { kind: 'kronecker', k1: 4, k2: 8, seed: 3 });
  assert.deepEqual(
    half.layers.map((l) => l.size),
    [4 + 5, 24, 12],
  );
});
