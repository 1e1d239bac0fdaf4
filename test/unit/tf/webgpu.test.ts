/**
 * The webgpu backend as CI can run it: Dawn on Mesa's software Vulkan driver (lavapipe, on
 * llvmpipe; infra/webgpu-software.sh). A named 'webgpu' takes that adapter only when
 * TDA_WEBGPU_SOFTWARE=1 asks, 'auto' never does; on it, the gradient engine's per-example
 * gradients equal naive autodiff and the cpu backend's. Skipped where setup could not install
 * the driver (not Debian x86-64); the kernels it shares with the other backends are compared in
 * kernels.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { featurize } from '../../../lib/grad';
import { gradientVectors } from '../../../lib/methods/factoredFeatures';
import { initBackend } from '../../../lib/tf/backend';
import { softwareVulkanDriver } from '../../../lib/tf/dawn';
import { checkAgainstNaive } from '../grad/checkAgainstNaive';
import { randomizeWeights, randomLabels, randomTensor } from '../grad/naive';

const skip = softwareVulkanDriver()
  ? false
  : 'no software Vulkan driver (infra/webgpu-software.sh installs it on Debian x86-64)';

function cnn() {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      activation: 'relu',
      inputShape: [7, 7, 2],
      name: 'conv',
    }),
  );
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 6, activation: 'tanh', name: 'hidden' }));
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  randomizeWeights(m, 501, 0.7);
  return m;
}

test('webgpu takes the software adapter only when TDA_WEBGPU_SOFTWARE=1 asks', {
  skip,
}, async () => {
  const logs: string[] = [];
  process.env.TDA_WEBGPU_SOFTWARE = '1';
  assert.equal(await initBackend('webgpu', (m) => logs.push(m)), 'webgpu');
  assert.match(logs.join('\n'), /llvmpipe.*software rendering, not a GPU/);
  delete process.env.TDA_WEBGPU_SOFTWARE;
  assert.equal(await initBackend('webgpu', (m) => logs.push(m)), 'wasm');
  assert.match(
    logs.at(-1) ?? '',
    /webgpu unavailable.*software one.*TDA_WEBGPU_SOFTWARE=1 allows it/,
  );
  assert.notEqual(await initBackend('auto', () => {}), 'webgpu');
  process.env.TDA_WEBGPU_SOFTWARE = '1';
});

test('webgpu (llvmpipe): per-example gradients equal naive autodiff and the cpu backend', {
  skip,
}, async () => {
  process.env.TDA_WEBGPU_SOFTWARE = '1';
  await initBackend('cpu', () => {});
  const model = cnn();
  const ys = randomLabels(5, 3, 502);
  const run = async (b: 'cpu' | 'webgpu') => {
    assert.equal(await initBackend(b, () => {}), b);
    const xs = randomTensor([5, 7, 7, 2], 503);
    const f = featurize(model, xs, ys, { projector: { kind: 'none' }, batchSize: 5 });
    // Factored gradients, loss and norms against per-example tf.grads, on this backend.
    if (b === 'webgpu') checkAgainstNaive(model, xs, ys);
    xs.dispose();
    return gradientVectors(f.grads).data;
  };
  const cpu = await run('cpu');
  const gpu = await run('webgpu');
  assert.equal(gpu.length, cpu.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < cpu.length; i++) {
    err = Math.max(err, Math.abs(cpu[i] - gpu[i]));
    scale = Math.max(scale, Math.abs(cpu[i]));
  }
  assert.ok(scale > 1e-3, `gradients are not trivially zero (${scale})`);
  assert.ok(err <= 1e-5 * Math.max(1, scale), `webgpu vs cpu: max abs diff ${err}`);
  await initBackend('cpu', () => {});
});
