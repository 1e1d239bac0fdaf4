import {
  type KernelConfig,
  type KernelFunc,
  MaxPoolGrad,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { readValues, writeOutput } from './util';
import { poolInfo } from './windowInfo';

/**
 * MaxPoolGrad: wasm's own drops the gradient when a window's maximum is negative. Each output's
 * gradient goes to the first maximal input of its window (as on the cpu backend).
 */
export const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const x = inputs.input as TensorInfo;
  const info = poolInfo(attrs, x.shape);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xv = readValues(backend, x);
  const dv = readValues(backend, dy);
  const dx = new Float32Array(xv.length);
  for (let b = 0; b < batchSize; b++) {
    for (let yo = 0; yo < outHeight; yo++) {
      for (let xo = 0; xo < outWidth; xo++) {
        for (let ch = 0; ch < inChannels; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let r = 0; r < filterHeight; r++) {
            const yi = yo * strideHeight + r - top;
            if (yi < 0 || yi >= inHeight) continue;
            for (let c = 0; c < filterWidth; c++) {
              const xi = xo * strideWidth + c - left;
              if (xi < 0 || xi >= inWidth) continue;
              const idx = ((b * inHeight + yi) * inWidth + xi) * inChannels + ch;
              if (xv[idx] > best || at < 0) {
                best = xv[idx];
                at = idx;
              }
            }
          }
          if (at >= 0) dx[at] += dv[((b * outHeight + yo) * outWidth + xo) * inChannels + ch];
        }
      }
    }
  }
  return writeOutput(backend, x.shape, dx);
};

export function maxPoolGradConfig(backendName: string): KernelConfig {
  return { kernelName: MaxPoolGrad, backendName, kernelFunc: maxPoolGrad };
}
