/**
 * Shared by the convolution handlers (kept apart from any of them so that none imports another):
 * im2col by identity filters, and the configurations tfjs cannot differentiate.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './handler';

// Identity filters turn conv2d into im2col: output channel (r·kw + c)·cin + i copies input
// channel i at tap (r, c), the row order of the kernel reshaped to [kh·kw·cin, cout].
const eyeCache = new Map<string, tf.Tensor4D>();
export function identityFilter(kh: number, kw: number, cin: number): tf.Tensor4D {
  const key = `${kh}x${kw}x${cin}:${tf.getBackend()}`;
  let f = eyeCache.get(key);
  if (!f || f.isDisposed) {
    const n = kh * kw * cin;
    const v = new Float32Array(n * n);
    for (let j = 0; j < n; j++) v[j * n + j] = 1;
    f = tf.keep(tf.tensor4d(v, [kh, kw, cin, n]));
    eyeCache.set(key, f);
  }
  return f;
}

/** Dilated convolutions have no gradient in tfjs (neither for the input nor for the kernel). */
export function dilatedProblem(layer: Layer): string | null {
  const r = (layer.getConfig() as { dilationRate?: number | number[] }).dilationRate ?? 1;
  const d = Array.isArray(r) ? r : [r];
  return d.some((v) => v > 1)
    ? `has dilation rate [${d}]: tfjs has no gradient for a dilated convolution`
    : null;
}
