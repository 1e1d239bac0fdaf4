import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeLayout, layoutEnv } from '../../../lib/tf/computeLayout';
import { nativeAddonBuilt, usesNativeBackend } from '../../../lib/tf/native';

test('wasm/cpu: one single-slot process per core', () => {
  assert.deepEqual(computeLayout(false, 8), {
    processes: 8,
    slots: 1,
    why: '8 single-threaded (wasm/cpu) processes',
  });
  assert.equal(computeLayout(false, 8, 3).processes, 3);
  assert.equal(layoutEnv(computeLayout(false, 8), { A: '1' }).TF_NUM_INTRAOP_THREADS, undefined);
});

test('native TensorFlow: one process per 16 cores, the cores split as its threads', () => {
  for (const [cores, processes, threads] of [
    [2, 1, 2],
    [16, 1, 16],
    [17, 2, 8],
    [64, 4, 16],
  ]) {
    const l = computeLayout(true, cores);
    assert.equal(l.processes, processes, `${cores} cores`);
    assert.equal(l.threads, threads, `${cores} cores`);
    assert.equal(l.slots, 2);
  }
  const forced = computeLayout(true, 8, 4);
  assert.equal(forced.threads, 2);
  assert.equal(layoutEnv(forced, {}).TF_NUM_INTRAOP_THREADS, '2');
  // A user's own setting wins.
  assert.equal(layoutEnv(forced, { TF_NUM_INTRAOP_THREADS: '7' }).TF_NUM_INTRAOP_THREADS, '7');
});

test('native backend is used only when asked for (auto/tensorflow) and built', () => {
  const built =
    nativeAddonBuilt('@tensorflow/tfjs-node') || nativeAddonBuilt('@tensorflow/tfjs-node-gpu');
  assert.equal(usesNativeBackend('auto'), built);
  assert.equal(usesNativeBackend('tensorflow'), built);
  assert.equal(usesNativeBackend('wasm'), false);
  assert.equal(usesNativeBackend('cpu'), false);
});
