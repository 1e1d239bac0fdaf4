import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { computeLayout, layoutEnv, NATIVE_MALLOC } from '../../../lib/tf/computeLayout';
import {
  cudaBuildUsable,
  nativeAddonBuilt,
  nativeCompute,
  nvidiaGpuVisible,
  usesNativeBackend,
} from '../../../lib/tf/native';

test('wasm/cpu: one single-slot process per core', () => {
  assert.deepEqual(computeLayout(false, 8), {
    processes: 8,
    slots: 1,
    why: '8 single-threaded (wasm/cpu) processes',
  });
  assert.equal(computeLayout(false, 8, 3).processes, 3);
  const env = layoutEnv(computeLayout(false, 8), { A: '1' });
  assert.deepEqual(env, { A: '1' }, 'no TensorFlow threads or malloc settings off native');
  assert.equal(computeLayout(false, 8, 2, 3).slots, 3);
});

test('native TensorFlow on the CPU: one single-slot process per core, one TensorFlow thread each', () => {
  for (const cores of [1, 2, 16, 64]) {
    const l = computeLayout(true, cores);
    assert.deepEqual([l.processes, l.threads, l.slots], [cores, 1, 1], `${cores} cores: ${l.why}`);
  }
  assert.equal(
    computeLayout(true, 2).why,
    'native TensorFlow: 2 processes of 1 thread, 1 activity slot each',
  );
  const forced = computeLayout(true, 8, 4);
  assert.equal(forced.threads, 2);
  assert.equal(layoutEnv(forced, {}).TF_NUM_INTRAOP_THREADS, '2');
  // A user's own setting wins.
  assert.equal(layoutEnv(forced, { TF_NUM_INTRAOP_THREADS: '7' }).TF_NUM_INTRAOP_THREADS, '7');
  // The glibc settings come with it unless left out (bench:main leaves them out).
  assert.equal(layoutEnv(forced, {}).MALLOC_ARENA_MAX, '2');
  const noMalloc = layoutEnv(forced, {}, { malloc: false });
  assert.equal(noMalloc.TF_NUM_INTRAOP_THREADS, '2');
  assert.equal(noMalloc.MALLOC_ARENA_MAX, undefined);
  assert.equal(noMalloc.MALLOC_MMAP_THRESHOLD_, undefined);
  const two = computeLayout(true, 2, undefined, 2);
  assert.equal(two.slots, 2);
  assert.match(two.why, /2 activity slots each/);
});

test('native TensorFlow on a GPU: one process per 16 cores, two slots, the cores split as its threads', () => {
  for (const [cores, processes, threads] of [
    [2, 1, 2],
    [16, 1, 16],
    [17, 2, 8],
    [64, 4, 16],
  ]) {
    const l = computeLayout('gpu', cores);
    assert.equal(l.processes, processes, `${cores} cores`);
    assert.equal(l.threads, threads, `${cores} cores`);
    assert.equal(l.slots, 2);
    assert.match(l.why, /^native TensorFlow on a GPU: /);
  }
  assert.equal(computeLayout('gpu', 2, undefined, 1).slots, 1);
});

test('native processes get the malloc settings that keep their RSS flat, unless the user set them', () => {
  const env = layoutEnv(computeLayout(true, 2), { A: '1' });
  assert.equal(env.A, '1');
  assert.equal(env.MALLOC_ARENA_MAX, '2');
  assert.equal(env.MALLOC_MMAP_THRESHOLD_, '4194304');
  assert.equal(layoutEnv(computeLayout(true, 2), { MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX, '8');
  // bin/tda sets the same for the processes it starts (a one-process worker computes in it).
  const bin = readFileSync(new URL('../../../bin/tda', import.meta.url), 'utf8');
  for (const [k, v] of Object.entries(NATIVE_MALLOC)) {
    assert.ok(bin.includes(`${k}="\${${k}:-${v}}"`), `bin/tda sets ${k}=${v}`);
  }
});

test('native backend is used only when asked for (auto/tensorflow) and built', () => {
  const built =
    nativeAddonBuilt('@tensorflow/tfjs-node') || nativeAddonBuilt('@tensorflow/tfjs-node-gpu');
  assert.equal(usesNativeBackend('auto'), built);
  assert.equal(usesNativeBackend('tensorflow'), built);
  assert.equal(usesNativeBackend('wasm'), false);
  assert.equal(usesNativeBackend('cpu'), false);
  // The layout's kind: the GPU only where its build and a device are both there.
  const gpu = nativeAddonBuilt('@tensorflow/tfjs-node-gpu') && nvidiaGpuVisible();
  assert.equal(cudaBuildUsable(), gpu);
  assert.equal(nativeCompute('auto'), built ? (gpu ? 'gpu' : true) : false);
  assert.equal(nativeCompute('wasm'), false);
});
