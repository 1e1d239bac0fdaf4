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
  /**
   * Present when the slice stores the layer gradient's factors instead of the gradient (or its
   * projection): positions × inDim inputs a_t, then positions × outDim output gradients δ_t
   * (projected by P_in, P_out under a Kronecker projector). The vector they stand for is
   * Σ_t a_t ⊗ δ_t (inDim × outDim, row-major), so ⟨g, g'⟩ = Σ_{t,s} (a_t·a'_s)(δ_t·δ'_s).
   */
  factors?: FactorLayout;
}

/** Sizes of a factored slice (size = positions · (inDim + outDim)). */
export interface FactorLayout {
  positions: number;
  inDim: number;
  outDim: number;
}

/**
 * Per-example features of one example set, row-major (rows × dim), one column slice per layer
 * block in `layers` order: the full flattened gradient (projector 'none'), its projection, or
 * where smaller the gradient's factors (LayerSlice.factors). Methods that need vectors expand
 * factors with lib/methods/factoredFeatures.ts; products read them as they are.
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
