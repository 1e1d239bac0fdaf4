import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { Rng } from '../../data/rng';
import { forwardLogits, planChain } from '../../train/forward';

/** A curvature's labels: drawn from the model (the true Fisher) or observed (the empirical one). */
export type FisherLabels = 'sampled' | 'empirical';

/**
 * One label per example drawn from the model's own predictive distribution (seeded). Curvature
 * fitted on gradients with these labels is the true Fisher (= the Gauss-Newton matrix for
 * softmax cross-entropy, in expectation); with the observed labels it is the empirical Fisher,
 * in which a mislabeled example's own large gradient inflates the curvature along it and hides
 * its self-influence.
 */
export function sampledLabels(model: LayersModel, x: tf.Tensor, seed: number): Int32Array {
  const probs = tf.tidy(() => tf.softmax(forwardLogits(planChain(model), x)));
  const [n, c] = probs.shape as [number, number];
  const p = probs.dataSync();
  probs.dispose();
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.next();
    let y = c - 1;
    for (let k = 0; k < c; k++) {
      u -= p[i * c + k];
      if (u < 0) {
        y = k;
        break;
      }
    }
    out[i] = y;
  }
  return out;
}
