import { BatchMatMul, getKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { transposeFirst } from './transposeFirst';

/** BatchMatMul with transposeA/transposeB: transpose first, then the backend's fast product. */
export function batchMatMulConfig(backendName: string): KernelConfig {
  return transposeFirst(getKernel(BatchMatMul, backendName));
}
