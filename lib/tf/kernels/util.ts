import type { TensorInfo } from '@tensorflow/tfjs-core';

/** The backend methods our JS kernels use; both wasm and cpu backends provide them. */
interface KernelHost {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo?(shape: number[], dtype: string, values: Float32Array): TensorInfo;
  makeOutput?(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap?(t: TensorInfo): Float32Array;
}

/** Reads a tensor's values synchronously (float32 or int32 as stored). */
export function readValues(backend: object, t: TensorInfo): ArrayLike<number> {
  return (backend as unknown as KernelHost).readSync(t.dataId);
}

/** Creates an output tensor with the given float32 values on the kernel's own backend. */
export function writeOutput(backend: object, shape: number[], values: Float32Array): TensorInfo {
  const host = backend as unknown as KernelHost;
  // wasm: allocate in its heap and copy, so the result lives where wasm kernels can read it.
  if (host.makeOutput && host.typedArrayFromHeap) {
    const out = host.makeOutput(shape, 'float32');
    host.typedArrayFromHeap(out).set(values);
    return out;
  }
  if (host.makeTensorInfo) return host.makeTensorInfo(shape, 'float32', values);
  throw new Error('backend cannot create outputs for a JS kernel');
}
