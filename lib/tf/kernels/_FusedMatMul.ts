import { _FusedMatMul, getKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { transposeFirst } from './transposeFirst';

/** _FusedMatMul (Dense's forward) with transposes: same fix as BatchMatMul. */
export function fusedMatMulConfig(backendName: string): KernelConfig {
  return transposeFirst(getKernel(_FusedMatMul, backendName));
}
