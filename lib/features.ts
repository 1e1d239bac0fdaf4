/**
 * The contract between the gradient engine (lib/grad) and the attribution methods (lib/methods):
 * gradients are computed once per (checkpoint, example set) into these shapes, and every method
 * is a pure function over them.
 */

/** Where one layer's block of columns sits inside a per-example feature vector. */
export interface LayerSlice {
  name: string;
  offset: number;
  size: number;
}

/**
 * Per-example vectors of one example set, row-major (rows × dim): projected gradients under any
 * projector, or for small models with projector 'none' the full flattened gradients over the
 * selected parameters (layer blocks in `layers` order).
 */
export interface GradientMatrix {
  rows: number;
  dim: number;
  data: Float32Array;
  layers: LayerSlice[];
}

/** What featurizing one example set at one checkpoint yields. */
export interface ExampleFeatures {
  grads: GradientMatrix;
  /** Per-example value of the test function (the loss by default). */
  loss: Float32Array;
  /** Exact squared norm of each example's full (unprojected) gradient. */
  sqNorm: Float64Array;
  /** rows × layers.length exact per-layer squared norms, row-major. */
  layerSqNorm?: Float64Array;
}

/** A checkpoint as the methods see it: the learning rate in force over the interval it stands for. */
export interface CheckpointInfo {
  step: number;
  learningRate: number;
}
