import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { fusedMatMulConfig } from './kernels/_FusedMatMul';
import { batchMatMulConfig } from './kernels/BatchMatMul';
import { conv2DBackpropFilterConfig } from './kernels/Conv2DBackpropFilter';
import { depthwiseConv2dNativeBackpropFilterConfig } from './kernels/DepthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputConfig } from './kernels/DepthwiseConv2dNativeBackpropInput';
import { isFiniteConfig } from './kernels/IsFinite';
import { maxPoolGradConfig } from './kernels/MaxPoolGrad';
import { unsortedSegmentSumConfig } from './kernels/UnsortedSegmentSum';
import { installWebgpuReadSync } from './webgpuReadSync';

const done = new Set<string>();

/** Registers (once per backend) our kernels that close wasm's gaps; see lib/tf/kernels. */
export function registerWasmKernels(backendName = 'wasm'): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  const configs = [
    batchMatMulConfig(backendName),
    fusedMatMulConfig(backendName),
    conv2DBackpropFilterConfig(backendName),
    unsortedSegmentSumConfig(backendName),
    maxPoolGradConfig(backendName),
    depthwiseConv2dNativeBackpropInputConfig(backendName),
    depthwiseConv2dNativeBackpropFilterConfig(backendName),
    isFiniteConfig(backendName),
  ];
  for (const c of configs) {
    // Replacing an existing kernel needs an unregister first (registerKernel only warns).
    if (getKernelSafe(c.kernelName, backendName)) unregisterKernel(c.kernelName, backendName);
    registerKernel(c);
  }
}

/** Registers (once) our kernels that close the tensorflow (tfjs-node) backend's gaps. */
export function registerTensorflowKernels(backendName = 'tensorflow'): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  const c = isFiniteConfig(backendName);
  unregisterKernel(c.kernelName, backendName);
  registerKernel(c);
}

function getKernelSafe(kernelName: string, backendName: string) {
  return getKernel(kernelName, backendName);
}

/**
 * Makes the webgpu backend usable from Node (once): dataSync() through Dawn instead of an
 * OffscreenCanvas (lib/tf/webgpuReadSync.ts), and the kernels it lacks.
 */
export function registerWebgpuKernels(backendName = 'webgpu'): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  installWebgpuReadSync(backendName);
}
