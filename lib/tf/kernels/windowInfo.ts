import { backend_util } from '@tensorflow/tfjs-core';

type Shape4 = [number, number, number, number];

/** The window attributes tfjs hands a convolution or pooling gradient kernel. */
interface WindowAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Absent for Conv2DBackpropFilter (no dilation). */
  dilations?: [number, number] | number;
  dataFormat?: 'NHWC' | 'NCHW';
}

/**
 * tfjs's geometry (sizes, strides, dilations, padding) of an NHWC convolution, plain or
 * depthwise, from a gradient kernel's attributes; `kernel` names it in the NCHW refusal.
 */
export function convInfo(
  kernel: string,
  attrs: unknown,
  xShape: number[],
  filterShape: number[],
  depthwise: boolean,
): backend_util.Conv2DInfo {
  const a = attrs as WindowAttrs;
  if (a.dataFormat === 'NCHW') throw new Error(`${kernel}: only NHWC is supported`);
  return backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

/** The same for a 2-D pooling window (attribute `filterSize`). */
export function poolInfo(attrs: unknown, xShape: number[]): backend_util.Conv2DInfo {
  const a = attrs as WindowAttrs & { filterSize: [number, number] | number };
  return backend_util.computePool2DInfo(
    xShape as Shape4,
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}
