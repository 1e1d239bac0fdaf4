import {
  DepthwiseConv2dNativeBackpropFilter,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { forEachDepthwiseTap } from './depthwiseTaps';
import { readValues, writeOutput } from './util';
import { convInfo } from './windowInfo';

/**
 * DepthwiseConv2dNativeBackpropFilter, missing on wasm (a DepthwiseConv2D or SeparableConv2D
 * cannot train there, nor be checked against autodiff, without it):
 * dW[r, c, i, m] = Σ_{b,y,x} x[b, y·s + r·d − top, x·s + c·d − left, i] · dy[b, y, x, i·mult + m].
 */
export const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { filterShape } = attrs as unknown as { filterShape: number[] };
  const info = convInfo('DepthwiseConv2dNativeBackpropFilter', attrs, x.shape, filterShape, true);
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const mult = outChannels / inChannels;
  const xv = readValues(backend, x);
  const dv = readValues(backend, dy);
  // float64 accumulation keeps the error at float32 rounding of the result.
  const dw = new Float64Array(filterHeight * filterWidth * outChannels);
  forEachDepthwiseTap(info, (dBase, xBase, wBase) => {
    for (let i = 0; i < inChannels; i++) {
      const xval = xv[xBase + i];
      for (let m = 0; m < mult; m++) dw[wBase + i * mult + m] += xval * dv[dBase + i * mult + m];
    }
  });
  return writeOutput(backend, filterShape, Float32Array.from(dw));
};

export function depthwiseConv2dNativeBackpropFilterConfig(backendName: string): KernelConfig {
  return {
    kernelName: DepthwiseConv2dNativeBackpropFilter,
    backendName,
    kernelFunc: depthwiseConv2dNativeBackpropFilter,
  };
}
