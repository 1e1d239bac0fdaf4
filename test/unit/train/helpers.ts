import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

/** Deterministic pseudo-random numbers for test data (not the code under test's generator). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function gaussianData(
  n: number,
  d: number,
  classes: number,
  seed: number,
): { x: Float32Array; y: Int32Array } {
  const r = lcg(seed);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let j = 0; j < d; j++) {
      const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
      x[i * d + j] = g + (j % classes === y[i] ? 1 : 0);
    }
  }
  return { x, y };
}

export function mlp(
  inputDim: number,
  hidden: number,
  classes: number,
  opts: { dropout?: number; seed?: number; softmax?: boolean } = {},
): tfl.LayersModel {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: (opts.seed ?? 1) * 10 + s });
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({
      inputShape: [inputDim],
      units: hidden,
      activation: 'tanh',
      kernelInitializer: init(1),
    }),
  );
  if (opts.dropout) m.add(tfl.layers.dropout({ rate: opts.dropout }));
  m.add(
    tfl.layers.dense({
      units: classes,
      activation: opts.softmax ? 'softmax' : 'linear',
      kernelInitializer: init(2),
      biasInitializer: 'zeros',
    }),
  );
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export { tf, tfl };
