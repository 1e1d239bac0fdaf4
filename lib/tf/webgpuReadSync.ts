/**
 * dataSync() on the webgpu backend in Node. tfjs-backend-webgpu reads synchronously through an
 * OffscreenCanvas, which Node lacks ("OffscreenCanvas is not defined"); the gradient engine reads
 * with dataSync() throughout. This readSync copies the tensor's buffer to a mappable one, as the
 * backend's own async read does, and lets Dawn deliver the map callback at once (lib/tf/dawn.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { processDawnEvents } from './dawn';

interface GpuBuffer {
  size: number;
  mapState: 'unmapped' | 'pending' | 'mapped';
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

interface TensorData {
  dtype: tf.DataType;
  values: tf.backend_util.BackendValues | null;
  resource: GpuBuffer | null;
  complexTensorInfos?: { real: tf.TensorInfo; imag: tf.TensorInfo };
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend that a read uses. */
interface WebGPUBackendLike {
  tensorMap: { get(id: tf.DataId): TensorData };
  bufferManager: {
    acquireBuffer(size: number, usage: number): GpuBuffer;
    releaseBuffer(b: GpuBuffer): void;
  };
  commandEncoder: {
    copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, n: number): void;
  };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(
    id: tf.DataId,
    v: tf.backend_util.BackendValues,
  ): tf.backend_util.BackendValues;
  readSync(id: tf.DataId): tf.backend_util.BackendValues;
}

const g = globalThis as unknown as {
  GPUBufferUsage: { COPY_DST: number; MAP_READ: number };
  GPUMapMode: { READ: number };
};

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Waits (ticking Dawn) until buffer is mapped; throws if the map failed or the GPU hung. */
function waitMapped(buffer: GpuBuffer, pending: Promise<void>): void {
  let failure: unknown;
  pending.catch((e) => {
    failure = e;
  });
  const t0 = performance.now();
  for (let spins = 0; buffer.mapState !== 'mapped'; spins++) {
    processDawnEvents();
    if (buffer.mapState === 'unmapped') {
      throw new Error(`webgpu: reading a tensor back failed (${failure ?? 'buffer map refused'})`);
    }
    // A long kernel is still running: stop spinning this core at full speed.
    if (spins > 1000) Atomics.wait(sleeper, 0, 0, 0.05);
    if (performance.now() - t0 > 600_000) {
      throw new Error('webgpu: reading a tensor back took over 10 minutes (device lost?)');
    }
  }
}

function readSync(this: WebGPUBackendLike, dataId: tf.DataId): tf.backend_util.BackendValues {
  const data = this.tensorMap.get(dataId);
  if (data.values != null || data.dtype === 'string')
    return data.values as tf.backend_util.BackendValues;
  if (data.dtype === 'complex64') {
    const { real, imag } = data.complexTensorInfos!;
    const merged = tf.backend_util.mergeRealAndImagArrays(
      this.readSync(real.dataId) as Float32Array,
      this.readSync(imag.dataId) as Float32Array,
    );
    return this.convertAndCacheOnCPU(dataId, merged);
  }
  const buffer = data.resource;
  if (!buffer) throw new Error('webgpu: tensor has neither values nor a GPU buffer');
  const staging = this.bufferManager.acquireBuffer(
    buffer.size,
    g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ,
  );
  this.ensureCommandEncoderReady();
  this.endComputePassEncoder();
  this.commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  this.submitQueue();
  waitMapped(staging, staging.mapAsync(g.GPUMapMode.READ));
  const bytes = staging.getMappedRange().slice(0);
  staging.unmap();
  this.bufferManager.releaseBuffer(staging);
  return this.convertAndCacheOnCPU(
    dataId,
    tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype),
  );
}

/** Replaces the webgpu backend's readSync with one that works in Node (once per backend). */
export function installWebgpuReadSync(backendName = 'webgpu'): void {
  const backend = tf.findBackend(backendName) as unknown as WebGPUBackendLike | null;
  if (!backend) throw new Error(`backend ${backendName} is not initialised`);
  backend.readSync = readSync;
}
