/**
 * Layers with no weights whose inference-mode output is their input, reshaped at most: the
 * written-out backward pass (manualBackward.ts) carries the gradient back through them as it
 * came, reshaped to the input's shape. (Noise and dropout layers are the identity at inference,
 * which is what per-example gradients are taken of.)
 */
export const passThroughLayers: ReadonlySet<string> = new Set([
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Flatten',
  'Reshape',
]);
