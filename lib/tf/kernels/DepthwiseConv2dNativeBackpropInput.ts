import {
  DepthwiseConv2dNativeBackpropInput,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { forEachDepthwiseTap } from './depthwiseTaps';
import { readValues, writeOutput } from './util';
import { convInfo } from './windowInfo';

/**
 * DepthwiseConv2dNativeBackpropInput, missing on wasm (nothing below a DepthwiseConv2D or
 * SeparableConv2D could get a gradient there): a scatter of dy through the kernel,
 * dx[b, y·s + r·d − top, x·s + c·d − left, i] += Σ_m dy[b, y, x, i·mult + m] · W[r, c, i, m].
 */
export const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { inputShape } = attrs as unknown as { inputShape: number[] };
  const info = convInfo(
    'DepthwiseConv2dNativeBackpropInput',
    attrs,
    inputShape,
    filter.shape,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outChannels } = info;
  const mult = outChannels / inChannels;
  const dv = readValues(backend, dy);
  const wv = readValues(backend, filter);
  const dx = new Float64Array(batchSize * inHeight * inWidth * inChannels);
  forEachDepthwiseTap(info, (dBase, xBase, wBase) => {
    for (let i = 0; i < inChannels; i++) {
      let s = 0;
      for (let m = 0; m < mult; m++) s += dv[dBase + i * mult + m] * wv[wBase + i * mult + m];
      dx[xBase + i] += s;
    }
  });
  return writeOutput(backend, inputShape, Float32Array.from(dx));
};

export function depthwiseConv2dNativeBackpropInputConfig(backendName: string): KernelConfig {
  return {
    kernelName: DepthwiseConv2dNativeBackpropInput,
    backendName,
    kernelFunc: depthwiseConv2dNativeBackpropInput,
  };
}
