/**
 * Picks and initialises the TensorFlow.js backend. The native backend (tfjs-node, built by
 * infra/setup.sh from TensorFlow's PyPI wheel; tfjs-node-gpu with --gpu) is an optional
 * dependency loaded only when its addon was built; webgpu needs the optional `webgpu` package;
 * wasm (with the kernels of lib/tf/kernels registered) is always there.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { nativeAddonBuilt, nvidiaGpuVisible } from './native';
import { registerTensorflowKernels, registerWasmKernels } from './registerKernels';

export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

const require = createRequire(import.meta.url);

/** Dynamic import by a computed name so bundlers and tsc do not require the package. */
async function tryImport(name: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ name);
    return true;
  } catch {
    return false;
  }
}

/** Why the last loader chose or refused its backend (for the one log line). */
let reason = '';
/** Whether the loaded tensorflow backend is the CUDA build on a visible GPU. */
let tensorflowOnGpu = false;

async function useTensorflow(): Promise<boolean> {
  tensorflowOnGpu = false;
  const gpuBuilt = nativeAddonBuilt('@tensorflow/tfjs-node-gpu');
  const gpu = gpuBuilt && nvidiaGpuVisible();
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (!gpu && !nativeAddonBuilt(pkg)) {
    reason = 'tfjs-node is not built (infra/setup.sh builds it on Linux x86-64)';
    return false;
  }
  // Read by the library when it loads, so set before (a user's own settings win). TensorFlow's
  // INFO lines (CPU features) would interleave with every command's output; warnings and errors
  // still show. oneDNN's custom ops announce themselves through a logger that ignores
  // TF_CPP_MIN_LOG_LEVEL (two lines in every process), and an A/B on the 2-core development
  // machine (matmul 512×784×256, a conv2d gradient) showed no consistent gain over Eigen's
  // kernels, so they are off unless asked for.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
  if (!(await tryImport(pkg)) || !(await tf.setBackend('tensorflow'))) {
    reason = `${pkg} did not load`;
    return false;
  }
  registerTensorflowKernels();
  tensorflowOnGpu = gpu;
  reason = gpu
    ? 'TensorFlow (CUDA build), NVIDIA GPU visible'
    : `TensorFlow on the CPU, all cores${gpuBuilt ? ' (tfjs-node-gpu built, but no GPU visible)' : ''}`;
  return true;
}
/** Software rasterisers Dawn may offer as an adapter: 'auto' does not count them as a GPU. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

interface AdapterLike {
  info?: { description?: string; device?: string; vendor?: string; isFallbackAdapter?: boolean };
}

async function useWebgpu(auto: boolean): Promise<boolean> {
  try {
    const g = globalThis as {
      navigator?: { gpu?: { requestAdapter(): Promise<AdapterLike | null> } };
    };
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
    const adapter = await g.navigator?.gpu?.requestAdapter();
    if (!adapter) {
      reason = 'no WebGPU adapter';
      return false;
    }
    const info = adapter.info ?? {};
    const desc = [info.vendor, info.device, info.description].filter(Boolean).join(' ');
    if (auto && (info.isFallbackAdapter || SOFTWARE_ADAPTER.test(desc))) {
      reason = `the WebGPU adapter is a software one (${desc})`;
      return false;
    }
    if (!(await tryImport('@tensorflow/tfjs-backend-webgpu'))) return false;
    reason = `WebGPU adapter ${desc || '(unnamed)'}`;
    return await tf.setBackend('webgpu');
  } catch {
    reason ||= 'the webgpu package is not installed';
    return false;
  }
}

let wasmPathsSet = false;
async function useWasm(): Promise<boolean> {
  try {
    if (!wasmPathsSet) {
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
      setWasmPaths(dist + path.sep);
      wasmPathsSet = true;
    }
    if (!(await tf.setBackend('wasm'))) return false;
    await tf.ready();
    registerWasmKernels();
    reason = 'WebAssembly with SIMD, one thread per process';
    return true;
  } catch {
    return false;
  }
}

async function useCpu(): Promise<boolean> {
  reason = 'plain JavaScript';
  return tf.setBackend('cpu');
}

const loaders: Record<Exclude<BackendName, 'auto'>, (auto: boolean) => Promise<boolean>> = {
  tensorflow: useTensorflow,
  webgpu: useWebgpu,
  wasm: useWasm,
  cpu: useCpu,
};

let lastLogged = '';

/**
 * Initialises a backend and returns the name of the one in use ('tensorflow-gpu' for TensorFlow
 * on a GPU). A named backend that cannot load falls back along tensorflow → webgpu → wasm → cpu
 * (and says so); 'auto' takes the first that loads, webgpu only on a hardware adapter. What was
 * picked and why is logged once per process (again only if it changes).
 */
export async function initBackend(
  name: BackendName = 'auto',
  log: (msg: string) => void = console.log,
): Promise<string> {
  if (!(name in loaders) && name !== 'auto') throw new Error(`unknown backend '${name}'`);
  const order: Exclude<BackendName, 'auto'>[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
  const start = name === 'auto' ? 0 : order.indexOf(name);
  const refused: string[] = [];
  for (let i = start; i < order.length; i++) {
    const b = order[i];
    reason = '';
    if (await loaders[b](name === 'auto')) {
      await tf.ready();
      const got =
        tf.getBackend() === 'tensorflow' && tensorflowOnGpu ? 'tensorflow-gpu' : tf.getBackend();
      const why = [`${got}: ${reason}`, ...refused].join('; ');
      const msg =
        name === 'auto' || b === name
          ? `tfjs backend: ${got} (${name}; ${why})`
          : `tfjs backend: ${name} unavailable, using ${got} (${why})`;
      if (msg !== lastLogged) log(msg);
      lastLogged = msg;
      return got;
    }
    refused.push(`not ${b}: ${reason || 'did not load'}`);
  }
  throw new Error(`no TensorFlow.js backend could be initialised (${refused.join('; ')})`);
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
