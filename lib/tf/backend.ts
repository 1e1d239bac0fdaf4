/**
 * Picks and initialises the TensorFlow.js backend. Optional native/GPU backends are loaded only
 * when they resolve (they are never dependencies: tfjs-node cannot install on our CPU hosts);
 * on a CPU host the default is wasm with the kernels of lib/tf/kernels registered.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from './registerKernels';

export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** Dynamic import by a computed name so bundlers and tsc do not require the package. */
async function tryImport(name: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ name);
    return true;
  } catch {
    return false;
  }
}

async function useTensorflow(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if ((await tryImport(pkg)) && (await tf.setBackend('tensorflow'))) return true;
  }
  return false;
}

async function useWebgpu(): Promise<boolean> {
  try {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (!g.navigator?.gpu) {
      // The `webgpu` package (Dawn binding) provides navigator.gpu in Node.
      const name = 'webgpu';
      const mod = (await import(/* @vite-ignore */ name)) as {
        create?: (o: string[]) => unknown;
        globals?: Record<string, unknown>;
      };
      if (!mod.create) return false;
      if (mod.globals) Object.assign(globalThis, mod.globals);
      const nav = (g.navigator ?? {}) as { gpu?: unknown };
      nav.gpu = mod.create([]);
      if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: nav });
    }
    if (!(await tryImport('@tensorflow/tfjs-backend-webgpu'))) return false;
    return await tf.setBackend('webgpu');
  } catch {
    return false;
  }
}

let wasmPathsSet = false;
async function useWasm(): Promise<boolean> {
  try {
    if (!wasmPathsSet) {
      const require = createRequire(import.meta.url);
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
      setWasmPaths(dist + path.sep);
      wasmPathsSet = true;
    }
    if (!(await tf.setBackend('wasm'))) return false;
    await tf.ready();
    registerWasmKernels();
    return true;
  } catch {
    return false;
  }
}

async function useCpu(): Promise<boolean> {
  return tf.setBackend('cpu');
}

const loaders: Record<Exclude<BackendName, 'auto'>, () => Promise<boolean>> = {
  tensorflow: useTensorflow,
  webgpu: useWebgpu,
  wasm: useWasm,
  cpu: useCpu,
};

/**
 * Initialises a backend and returns the name of the one in use. A named backend that cannot load
 * falls back along tensorflow → webgpu → wasm → cpu (and says so); 'auto' takes the first that
 * loads.
 */
export async function initBackend(
  name: BackendName = 'auto',
  log: (msg: string) => void = console.log,
): Promise<string> {
  if (!(name in loaders) && name !== 'auto') throw new Error(`unknown backend '${name}'`);
  const order: Exclude<BackendName, 'auto'>[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
  const start = name === 'auto' ? 0 : order.indexOf(name);
  for (let i = start; i < order.length; i++) {
    const b = order[i];
    if (await loaders[b]()) {
      await tf.ready();
      const got = tf.getBackend();
      if (name === 'auto') log(`tfjs backend: ${got} (auto)`);
      else if (b !== name) log(`tfjs backend: ${name} unavailable, using ${got}`);
      return got;
    }
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}

let processBackend: Promise<unknown> | undefined;

/**
 * The backend this process chose already (a worker's initBackend), else cpu, whose results are
 * exact: for code such as the gold standard's training that may run before or without one.
 */
export function ensureBackend(): Promise<unknown> {
  processBackend ??= tf.getBackend() ? tf.ready() : tf.setBackend('cpu');
  return processBackend;
}
