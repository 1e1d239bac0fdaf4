import {
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * Shared by BatchMatMul and _FusedMatMul: wasm only takes its fast (XNNPACK) path for an
 * untransposed product, and backprop always transposes one operand. Transposing the operand
 * first (a cheap copy) and then calling the untransposed product is about 10× faster
 * (notes/tfjs-on-cpu.md).
 */
export function transposeFirst(original: KernelConfig): KernelConfig {
  const backendName = original.backendName;
  const run: KernelFunc = (args) => {
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
    const transpose = getKernel('Transpose', backendName);
    const backend = args.backend as KernelBackend;
    const temps: TensorInfo[] = [];
    const swap = (t: TensorInfo): TensorInfo => {
      const r = t.shape.length;
      const perm = [...Array(r).keys()];
      perm[r - 2] = r - 1;
      perm[r - 1] = r - 2;
      const out = transpose.kernelFunc({
        inputs: { x: t },
        backend,
        attrs: { perm },
      }) as TensorInfo;
      temps.push(out);
      return out;
    };
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const inputs = {
      ...args.inputs,
      a: attrs.transposeA ? swap(a) : a,
      b: attrs.transposeB ? swap(b) : b,
    };
    try {
      return original.kernelFunc({
        ...args,
        inputs,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
  return { ...original, kernelFunc: run };
}
