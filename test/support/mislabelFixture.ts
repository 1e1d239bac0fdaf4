import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../lib/data/dataset';
import { flipLabels } from '../../lib/data/labelNoise';
import { blobs } from './tinyRun';

/**
 * Three separable blobs (classes i % 3) with 10% of the labels flipped (seeded): the mislabel
 * benchmark's small test data, with its inputs as a tensor (the caller disposes it).
 */
export function flippedBlobs(
  rows: number,
  d: number,
  seed: number,
  flipSeed: number,
): { ds: Dataset; x: tf.Tensor2D } {
  const clean = blobs('blobs', rows, d, seed);
  // blobs() already mislabels every 17th row; start from the true classes, then flip 10%.
  clean.labels = Int32Array.from({ length: clean.rows }, (_, i) => i % 3);
  const ds = flipLabels(clean, 0.1, flipSeed);
  return { ds, x: tf.tensor2d(ds.x as Float32Array, [ds.rows, d]) };
}

/** A seeded MLP d → hidden (tanh) → 3 logits, layers named 'h' and 'o'. */
export function tanhMlp(d: number, hidden: number, seeds: [number, number]): tfl.LayersModel {
  return tfl.sequential({
    name: 'mlp',
    layers: [
      tfl.layers.dense({
        name: 'h',
        inputShape: [d],
        units: hidden,
        activation: 'tanh',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seeds[0] }),
      }),
      tfl.layers.dense({
        name: 'o',
        units: 3,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seeds[1] }),
      }),
    ],
  });
}
