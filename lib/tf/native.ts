/**
 * Cheap checks (no TensorFlow loaded) for the native backend: whether setup built a tfjs-node
 * addon, and whether a GPU is visible. The worker-process layout is decided from these before
 * any child loads a backend.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type NativePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

const require = createRequire(import.meta.url);

/**
 * Whether a tfjs-node package is installed with its native addon built (infra/tfjs-native.sh).
 * Importing one without it throws only after registering its kernels, which the other package
 * would then register again.
 */
export function nativeAddonBuilt(pkg: NativePackage): boolean {
  try {
    const lib = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'lib');
    return readdirSync(lib).some((d) => existsSync(path.join(lib, d, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

/** An NVIDIA GPU the CUDA build of TensorFlow could use (the driver's device node). */
export function nvidiaGpuVisible(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

/** Whether a configured backend ('auto' or a name) will run on native TensorFlow. */
export function usesNativeBackend(backend: string): boolean {
  return (
    (backend === 'auto' || backend === 'tensorflow') &&
    (nativeAddonBuilt('@tensorflow/tfjs-node') || nativeAddonBuilt('@tensorflow/tfjs-node-gpu'))
  );
}

/** Whether the tensorflow backend will be the CUDA build: built, and a GPU visible. */
export function cudaBuildUsable(): boolean {
  return nativeAddonBuilt('@tensorflow/tfjs-node-gpu') && nvidiaGpuVisible();
}

/**
 * How a configured backend computes, for the worker layout (lib/tf/computeLayout.ts): false off
 * native TensorFlow, 'gpu' where its CUDA build will run on a visible GPU (cudaBuildUsable, as
 * lib/tf/backend.ts picks it), else true (native TensorFlow on the CPU).
 */
export function nativeCompute(backend: string): boolean | 'gpu' {
  if (!usesNativeBackend(backend)) return false;
  return cudaBuildUsable() ? 'gpu' : true;
}
