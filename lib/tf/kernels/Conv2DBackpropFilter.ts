import {
  Conv2DBackpropFilter,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { readValues, writeOutput } from './util';
import { convInfo } from './windowInfo';

/**
 * Conv2DBackpropFilter, missing on wasm (Conv2D cannot train there without it):
 * dW[r,c,i,o] = Σ_{b,y,x} x[b, y·s + r·d − top, x·s + c·d − left, i] · dy[b,y,x,o], in JS.
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { filterShape } = attrs as unknown as { filterShape: number[] };
  const info = convInfo('Conv2DBackpropFilter', attrs, x.shape, filterShape, false);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xv = readValues(backend, x);
  const dv = readValues(backend, dy);
  const dw = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
  // Accumulate in float64 per filter tap row to keep the error at float32 rounding.
  const acc = new Float64Array(inChannels * outChannels);
  for (let r = 0; r < filterHeight; r++) {
    for (let c = 0; c < filterWidth; c++) {
      acc.fill(0);
      for (let b = 0; b < batchSize; b++) {
        for (let yo = 0; yo < outHeight; yo++) {
          const yi = yo * strideHeight + r * dilationHeight - top;
          if (yi < 0 || yi >= inHeight) continue;
          for (let xo = 0; xo < outWidth; xo++) {
            const xi = xo * strideWidth + c * dilationWidth - left;
            if (xi < 0 || xi >= inWidth) continue;
            const xBase = ((b * inHeight + yi) * inWidth + xi) * inChannels;
            const dBase = ((b * outHeight + yo) * outWidth + xo) * outChannels;
            for (let i = 0; i < inChannels; i++) {
              const xval = xv[xBase + i];
              if (xval === 0) continue;
              const aBase = i * outChannels;
              for (let o = 0; o < outChannels; o++) acc[aBase + o] += xval * dv[dBase + o];
            }
          }
        }
      }
      dw.set(acc, (r * filterWidth + c) * inChannels * outChannels);
    }
  }
  return writeOutput(backend, filterShape, dw);
};

export function conv2DBackpropFilterConfig(backendName: string): KernelConfig {
  return { kernelName: Conv2DBackpropFilter, backendName, kernelFunc: conv2DBackpropFilter };
}
