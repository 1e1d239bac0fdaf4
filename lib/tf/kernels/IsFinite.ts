import {
  getKernel,
  IsFinite,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * IsFinite on integer tensors (lib/grad checks an Embedding's int32 ids with it): TensorFlow's op
 * takes floats only (tfjs-node fails), and wasm reads the int32 bits as floats (-7 is "NaN").
 * Integers and booleans are always finite: all true, as the cpu backend answers; floats go to
 * the backend's own kernel.
 */
export function isFiniteConfig(backendName: string): KernelConfig {
  const original = getKernel(IsFinite, backendName);
  if (!original) throw new Error(`${backendName} has no IsFinite kernel to wrap`);
  const fill = getKernel('Fill', backendName);
  if (!fill) throw new Error(`${backendName} has no Fill kernel`);
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'float32') return original.kernelFunc(args);
    return fill.kernelFunc({
      inputs: {},
      backend: args.backend,
      attrs: { shape: x.shape, value: true, dtype: 'bool' },
    }) as TensorInfo;
  };
  return { kernelName: IsFinite, backendName, kernelFunc };
}
