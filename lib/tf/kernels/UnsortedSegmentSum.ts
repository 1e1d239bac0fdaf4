import {
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  UnsortedSegmentSum,
  util,
} from '@tensorflow/tfjs-core';
import { readValues, writeOutput } from './util';

/**
 * UnsortedSegmentSum, missing on wasm: it is the gradient of gather, so without it an Embedding
 * layer cannot train. Plain JS scatter-add.
 */
export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const ids = inputs.segmentIds as TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const rowShape = x.shape.slice(ids.shape.length);
  const row = util.sizeFromShape(rowShape);
  const nIds = util.sizeFromShape(ids.shape);
  const xv = readValues(backend, x);
  const iv = readValues(backend, ids);
  const out = new Float32Array(numSegments * row);
  for (let i = 0; i < nIds; i++) {
    const s = iv[i];
    // TensorFlow drops out-of-range (e.g. negative) segment ids.
    if (s < 0 || s >= numSegments) continue;
    const o = s * row;
    const xo = i * row;
    for (let j = 0; j < row; j++) out[o + j] += xv[xo + j];
  }
  return writeOutput(backend, [numSegments, ...rowShape], out);
};

export function unsortedSegmentSumConfig(backendName: string): KernelConfig {
  return { kernelName: UnsortedSegmentSum, backendName, kernelFunc: unsortedSegmentSum };
}
