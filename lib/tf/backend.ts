/**
 * Picks and initialises the TensorFlow.js backend. The native backend (tfjs-node, built by
 * infra/setup.sh from TensorFlow's PyPI wheel; tfjs-node-gpu with --gpu) is an optional
 * dependency loaded only when its addon was built; webgpu needs the optional `webgpu` package
 * (Dawn) and a Vulkan driver; wasm (with the kernels of lib/tf/kernels registered) is always there.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  capturingDawnTick,
  dawnGpu,
  describeAdapter,
  isSoftwareAdapter,
  softwareVulkanDriver,
  softwareWebgpuAsked,
} from './dawn';
import { cudaBuildUsable, nativeAddonBuilt } from './native';
import {
  registerTensorflowKernels,
  registerWasmKernels,
  registerWebgpuKernels,
} from './registerKernels';

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

/** TensorFlow's intra-op threads as this process was given them (a worker's layout sets one). */
function cpuThreads(): string {
  const n = Number(process.env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(n) && n > 0 ? `${n} thread${n > 1 ? 's' : ''}` : 'all cores';
}

async function useTensorflow(): Promise<boolean> {
  tensorflowOnGpu = false;
  const gpuBuilt = nativeAddonBuilt('@tensorflow/tfjs-node-gpu');
  const gpu = cudaBuildUsable();
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
  // The CPU device's tensors from TensorFlow's own pool (its BFC allocator), not malloc: a
  // shard's products take tens of MB per operand, which malloc maps fresh from the kernel and
  // unmaps again each time, so every page faulted in and was zeroed (page faults were the top
  // item of bench:main's profile, and its scoring took twice the CPU time with them).
  // (Read when TensorFlow makes its first CPU allocator: too late if tfjs-node loaded earlier.)
  process.env.TF_CPU_ALLOCATOR_USE_BFC ??= 'true';
  if (!(await tryImport(pkg)) || !(await tf.setBackend('tensorflow'))) {
    reason = `${pkg} did not load`;
    return false;
  }
  registerTensorflowKernels();
  tensorflowOnGpu = gpu;
  reason = gpu
    ? 'TensorFlow (CUDA build), NVIDIA GPU visible'
    : `TensorFlow on the CPU, ${cpuThreads()}${gpuBuilt ? ' (tfjs-node-gpu built, but no GPU visible)' : ''}`;
  return true;
}

/**
 * WebGPU through Dawn. 'auto' takes a hardware adapter only; a named 'webgpu' also takes a
 * software one (Mesa's llvmpipe) when TDA_WEBGPU_SOFTWARE=1 asks for it (lib/tf/dawn.ts).
 */
async function useWebgpu(auto: boolean): Promise<boolean> {
  const allowSoftware = !auto && softwareWebgpuAsked();
  try {
    const gpu = await capturingDawnTick(() => dawnGpu());
    if (!gpu) {
      reason = 'the webgpu package has no Dawn binding for this platform';
      return false;
    }
    const adapter = await capturingDawnTick(() =>
      gpu.requestAdapter({ powerPreference: 'high-performance' }),
    );
    if (!adapter) {
      reason = `no WebGPU adapter (no Vulkan driver found${
        !auto && softwareVulkanDriver() ? '; TDA_WEBGPU_SOFTWARE=1 adds the software one' : ''
      })`;
      return false;
    }
    const info = adapter.info ?? {};
    const software = isSoftwareAdapter(info);
    if (software && !allowSoftware) {
      reason = `the WebGPU adapter is a software one (${describeAdapter(info)})${
        auto ? '' : '; TDA_WEBGPU_SOFTWARE=1 allows it'
      }`;
      return false;
    }
    // Imported here, not at the top: it registers itself only if navigator.gpu exists by then.
    // A literal name, so that a bundle (infra/gpu-check.sh) holds it beside the same tfjs-core.
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await capturingDawnTick(() => tf.setBackend('webgpu')))) {
      reason = 'the webgpu backend did not initialise';
      return false;
    }
    registerWebgpuKernels();
    reason = `WebGPU adapter ${describeAdapter(info)}${software ? ' (software rendering, not a GPU)' : ''}`;
    return true;
  } catch (e) {
    reason = /Cannot find (package|module) 'webgpu'/.test(String(e))
      ? 'the webgpu package is not installed'
      : `webgpu failed: ${(e as Error).message}`;
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
      const got = activeBackend();
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

/**
 * The backend this process computes on ('tensorflow-gpu' for the CUDA build on a GPU): recorded
 * beside what it computed, since float32 results differ between backends in their last bits.
 */
export function activeBackend(): string {
  const b = tf.getBackend();
  return b === 'tensorflow' && tensorflowOnGpu ? 'tensorflow-gpu' : b;
}

let processBackend: Promise<unknown> | undefined;

/**
 * The backend this process chose already (a worker's initBackend), else cpu, whose results are
 * exact: for code such as the gold standard's training that may run before or without one.
 */
export function chosenBackendOrCpu(): Promise<unknown> {
  processBackend ??= tf.getBackend() ? tf.ready() : tf.setBackend('cpu');
  return processBackend;
}
