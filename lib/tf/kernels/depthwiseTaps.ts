import type { backend_util } from '@tensorflow/tfjs-core';

/**
 * Every (output position, filter tap) pair of a depthwise convolution that lands inside the
 * input, as flat offsets: dBase into dy (NHWC), xBase into x (NHWC), wBase into the filter
 * (r, c, in·mult). Both depthwise gradient kernels walk exactly these pairs.
 */
export function forEachDepthwiseTap(
  info: backend_util.Conv2DInfo,
  visit: (dBase: number, xBase: number, wBase: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let yo = 0; yo < outHeight; yo++) {
      for (let xo = 0; xo < outWidth; xo++) {
        const dBase = ((b * outHeight + yo) * outWidth + xo) * outChannels;
        for (let r = 0; r < filterHeight; r++) {
          const yi = yo * strideHeight + r * dilationHeight - top;
          if (yi < 0 || yi >= inHeight) continue;
          for (let c = 0; c < filterWidth; c++) {
            const xi = xo * strideWidth + c * dilationWidth - left;
            if (xi < 0 || xi >= inWidth) continue;
            visit(
              dBase,
              ((b * inHeight + yi) * inWidth + xi) * inChannels,
              (r * filterWidth + c) * outChannels,
            );
          }
        }
      }
    }
  }
}
