import * as tf from '@tensorflow/tfjs-core';
import { type LayerHandler, positionsOf, values, weights } from './handler';

/**
 * Embedding: y_t = W[token_t], so G_i = Σ_t onehot(token_t) ⊗ δ_t; the one-hot inputs are kept
 * as token indices.
 */
export const embeddingHandler: LayerHandler = {
  probeShape(layer, inputShape) {
    const dim = (layer.getConfig() as { outputDim: number }).outputDim;
    return [...inputShape, dim];
  },
  forward(layer, x, probe) {
    const [table] = weights(layer);
    const tokens = tf.cast(x, 'int32');
    const vocab = table.shape[0];
    // Out-of-range ids would silently gather zeros on some backends: refuse them.
    const range = tf.tidy(() => [tf.min(tokens).dataSync()[0], tf.max(tokens).dataSync()[0]]);
    if (tokens.size > 0 && (range[0] < 0 || range[1] >= vocab)) {
      throw new Error(
        `layer '${layer.name}' (Embedding): token ids must be in [0, ${vocab}), got [${range[0]}, ${range[1]}]`,
      );
    }
    let z = tf.reshape(tf.gather(table, tf.reshape(tokens, [-1])), [
      ...x.shape,
      table.shape[1] as number,
    ]);
    if (probe) z = tf.add(z, probe);
    return { z, y: z, saved: [tokens] };
  },
  blocks(layer, saved, delta) {
    const tokens = saved[0];
    const table = layer.weights[0];
    const t = tokens.dataSync();
    return [
      {
        name: layer.name,
        layer: layer.name,
        layerType: 'Embedding',
        rows: tokens.shape[0],
        positions: tokens.rank === 1 ? 1 : positionsOf([...tokens.shape, 1]),
        inDim: table.shape[0] as number,
        outDim: table.shape[1] as number,
        tokens: t instanceof Int32Array ? t : Int32Array.from(t),
        delta: values(delta),
        params: [{ name: table.name, shape: table.shape as number[] }],
      },
    ];
  },
};
