import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../lib/tf/backend';
import { softwareVulkanDriver } from '../../../lib/tf/dawn';
import { COMPARED_BACKENDS } from '../../support/backend';
import { rng } from '../grad/naive';

// webgpu too, on Mesa's software Vulkan driver where setup installed it (infra/webgpu-software.sh).
const webgpu = softwareVulkanDriver() !== undefined;
if (webgpu) process.env.TDA_WEBGPU_SOFTWARE = '1';
const BACKENDS = [...COMPARED_BACKENDS, ...(webgpu ? (['webgpu'] as const) : [])];

/**
 * Runs f on the cpu backend, then on wasm (with our kernels) and, where setup built or installed
 * them, on tensorflow (tfjs-node) and webgpu (llvmpipe), over the same input values; out[0] is
 * the cpu reference.
 */
async function onBackends(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: { values: Float32Array | Int32Array; shape: number[]; dtype?: 'int32' }[],
) {
  const out: Float32Array[] = [];
  for (const b of BACKENDS) {
    assert.equal(await initBackend(b, () => {}), b, `backend ${b} did not load`);
    const r = tf.tidy(() =>
      f(...inputs.map((i) => tf.tensor(i.values, i.shape, i.dtype ?? 'float32'))),
    );
    out.push(Float32Array.from(r.dataSync()));
    r.dispose();
  }
  return out;
}

/** Every other backend's output b[j] within tol of the cpu reference a. */
function close(a: Float32Array, bs: Float32Array[], tol: number, what: string) {
  assert.ok(bs.length >= 1, `${what}: no backend besides cpu ran`);
  for (const b of bs) {
    assert.equal(a.length, b.length, `${what}: length`);
    let err = 0;
    for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
    assert.ok(err <= tol, `${what}: max abs diff ${err}`);
  }
}

const vals = (shape: number[], seed: number) => {
  const r = rng(seed);
  const n = shape.reduce((p, s) => p * s, 1);
  return { values: Float32Array.from({ length: n }, () => r() * 2 - 1), shape };
};

test('BatchMatMul with transposes (2-D and batched) matches cpu', async () => {
  for (const [ta, tb] of [
    [true, false],
    [false, true],
    [true, true],
    [false, false],
  ] as const) {
    const a = vals(ta ? [13, 7] : [7, 13], 1);
    const b = vals(tb ? [5, 13] : [13, 5], 2);
    const [c, ...w] = await onBackends((x, y) => tf.matMul(x, y, ta, tb), [a, b]);
    close(c, w, 1e-5, `matMul ${ta} ${tb}`);
    const a3 = vals(ta ? [3, 13, 7] : [3, 7, 13], 3);
    const b3 = vals(tb ? [3, 5, 13] : [3, 13, 5], 4);
    const [c3, ...w3] = await onBackends((x, y) => tf.matMul(x, y, ta, tb), [a3, b3]);
    close(c3, w3, 1e-5, `batched matMul ${ta} ${tb}`);
  }
  // Dense gradient through the fused product.
  const [c, ...w] = await onBackends(
    (x, y) =>
      tf.grad((k: tf.Tensor) =>
        tf.sum(tf.relu(tf.fused.matMul({ a: x as tf.Tensor2D, b: k as tf.Tensor2D }))),
      )(y),
    [vals([6, 4], 5), vals([4, 3], 6)],
  );
  close(c, w, 1e-5, 'fused matMul gradient');
});

test('Conv2DBackpropFilter matches cpu (padding, strides)', async () => {
  const cases: [number[], number[], number | [number, number], 'same' | 'valid', number][] = [
    [[2, 7, 7, 3], [3, 3, 3, 4], 1, 'same', 1],
    [[2, 8, 6, 2], [2, 3, 2, 5], 2, 'valid', 1],
    [[1, 9, 9, 2], [3, 3, 2, 3], [2, 1], 'same', 1],
  ];
  for (const [xs, fs, strides, pad, dil] of cases) {
    const [c, ...w] = await onBackends(
      (x, f) =>
        tf.grad((k: tf.Tensor) =>
          tf.sum(
            tf.square(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, strides, pad, 'NHWC', dil)),
          ),
        )(f),
      [vals(xs, 7), vals(fs, 8)],
    );
    close(c, w, 1e-4, `conv filter grad ${xs} ${fs} ${strides} ${pad} ${dil}`);
  }
});

test('UnsortedSegmentSum (gather gradient) matches cpu', async () => {
  const ids = { values: Int32Array.from([3, 0, 3, 1, 3, 0]), shape: [6], dtype: 'int32' as const };
  const [c, ...w] = await onBackends(
    (x, i) => tf.unsortedSegmentSum(x, i as tf.Tensor1D, 5),
    [vals([6, 4], 9), ids],
  );
  close(c, w, 1e-6, 'unsortedSegmentSum');
  const [gc, ...gw] = await onBackends(
    (t, i) => tf.grad((tab: tf.Tensor) => tf.sum(tf.square(tf.gather(tab, i))))(t),
    [vals([5, 3], 10), ids],
  );
  close(gc, gw, 1e-6, 'gather gradient');
});

test('IsFinite matches cpu on int32 (TensorFlow takes floats only) and on floats', async () => {
  const ints = {
    values: Int32Array.from([3, -7, 0, 2 ** 31 - 1]),
    shape: [2, 2],
    dtype: 'int32' as const,
  };
  const [c, ...w] = await onBackends((x) => tf.cast(tf.isFinite(x), 'float32'), [ints]);
  close(c, w, 0, 'isFinite int32');
  assert.deepEqual(Array.from(c), [1, 1, 1, 1]);
  const floats = {
    values: Float32Array.from([1.5, Number.NaN, Number.POSITIVE_INFINITY, -2]),
    shape: [4],
  };
  const [cf, ...wf] = await onBackends((x) => tf.cast(tf.isFinite(x), 'float32'), [floats]);
  close(cf, wf, 0, 'isFinite float32');
  assert.deepEqual(Array.from(cf), [1, 0, 0, 1]);
});

test('MaxPoolGrad matches cpu, including windows whose maximum is negative', async () => {
  for (const [shape, size, strides, pad] of [
    [[2, 6, 6, 3], 2, 2, 'valid'],
    [[1, 7, 5, 2], 3, 2, 'same'],
    [[1, 5, 5, 1], 3, 1, 'valid'],
  ] as const) {
    const x = vals([...shape], 11);
    x.values = x.values.map((v) => v - 2); // all negative
    const [c, ...w] = await onBackends(
      (t) =>
        tf.grad((u: tf.Tensor) => {
          const p = tf.maxPool(u as tf.Tensor4D, size, strides, pad);
          // Distinct weights per output so misrouted gradients show.
          return tf.sum(tf.mul(p, tf.reshape(tf.range(1, 1 + p.size), p.shape)));
        })(t),
      [x],
    );
    close(c, w, 1e-5, `maxPool grad ${shape} ${size} ${strides} ${pad}`);
    assert.ok(c.some((v) => v !== 0));
  }
});

test('initBackend falls back when optional backends are not installed', async () => {
  const logs: string[] = [];
  const got = await initBackend('webgpu', (m) => logs.push(m));
  assert.ok(['webgpu', 'wasm', 'cpu'].includes(got));
  if (got !== 'webgpu') assert.match(logs.join('\n'), /webgpu unavailable/);
  assert.equal(await initBackend('cpu', () => {}), 'cpu');
  await assert.rejects(initBackend('tpu' as 'cpu'), /unknown backend 'tpu'/);
});

test('DepthwiseConv2dNativeBackpropInput and ...BackpropFilter (strides, padding, depth multiplier) match cpu', async () => {
  for (const [pad, stride, mult] of [
    ['same', 1, 2],
    ['valid', 2, 1],
    ['same', 2, 3],
  ] as const) {
    const loss = (x: tf.Tensor, k: tf.Tensor) =>
      tf.sum(tf.square(tf.depthwiseConv2d(x as tf.Tensor4D, k as tf.Tensor4D, stride, pad)));
    const inputs = [vals([2, 7, 6, 3], 11), vals([3, 2, 3, mult], 12)];
    const [c, ...w] = await onBackends((x, k) => tf.grad((v: tf.Tensor) => loss(v, k))(x), inputs);
    close(c, w, 1e-4, `depthwise dx ${pad} ${stride} ${mult}`);
    const [cf, ...wf] = await onBackends(
      (x, k) => tf.grad((v: tf.Tensor) => loss(x, v))(k),
      inputs,
    );
    close(cf, wf, 1e-3, `depthwise dW ${pad} ${stride} ${mult}`);
  }
});
