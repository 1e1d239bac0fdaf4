/**
 * Types of the gradient engine. A selected layer's per-example gradient is kept in factored form
 * (SPEC "Per-example gradients without materialising them"): example i's gradient of one
 * parameter block is G_i = Σ_t a_it ⊗ δ_it (inDim × outDim, row-major = the parameters' own
 * flattened order), summed over the positions t where the layer is applied.
 */

/** One parameter block's factors for a batch of examples. */
export interface FactorBlock {
  /** Block name: the layer name, or `layer/A`, `layer/B` for LoRA adapters. */
  name: string;
  layer: string;
  layerType: string;
  rows: number;
  /**
   * Positions per example (1 for a Dense on 2-D input; patches for Conv2D; tokens...). A layer
   * whose per-example gradient is no sum of outer products (normalization, depthwise kernels)
   * gives it exactly as one position with a = [1] and δ = the flattened gradient.
   */
  positions: number;
  inDim: number;
  outDim: number;
  /**
   * rows × positions × inDim layer inputs (with a trailing 1 when the block includes a bias).
   * Absent for one-hot inputs, which `tokens` gives instead.
   */
  a?: Float32Array;
  /** rows × positions indices of one-hot inputs (Embedding): a_t = e_{tokens[t]}. */
  tokens?: Int32Array;
  /** rows × positions × outDim gradients of the summed test function w.r.t. pre-activations. */
  delta: Float32Array;
  /** Parameters covered, in flattening order (their sizes sum to inDim·outDim). */
  params: { name: string; shape: number[] }[];
}

/** Which parameters per-example gradients are taken over. */
export type LayerSelection =
  | 'all' // every layer with trainable weights
  | 'last' // the last layer with trainable weights
  | 'adapters' // LoRA adapters only (LoraDense layers' A and B)
  | { names: string[] };

/**
 * The function whose gradient is taken per example. 'loss': the head's loss (head.ts: softmax or
 * binary cross-entropy, squared error for a regression output). 'logit' / 'probability' (a
 * classification head): of class `classIndex`, or when absent of the example's label if labels
 * are given, else of the predicted class (for unlabeled queries). 'prediction' (a regression
 * head): the predicted value.
 */
export type TestFunction =
  | { kind: 'loss' }
  | { kind: 'logit' | 'probability'; classIndex?: number }
  | { kind: 'prediction' };

/**
 * How per-example gradients become fixed-length vectors (serialisable; part of what featurized
 * output is addressed by). Every kind works per block and yields one column slice per block.
 * - none: the full flattened gradient (small models only);
 * - kronecker: (P_inᵀ a)(P_outᵀ δ)ᵀ summed over positions, min(k1, in)·min(k2, out) columns per
 *   block (a side no larger than its k is kept exact: P is the identity there);
 * - gaussian / rademacher: a dense k-column random projection of each block's flattened
 *   gradient, generated blockwise by a counter-based generator keyed by (seed, block, chunk).
 * Entries are scaled so projected inner products are unbiased estimates of the exact ones.
 * engine 'js' (default) does the projection arithmetic in plain JS, so the same factors give
 * bit-identical output on every backend and worker; 'tf' uses the tfjs backend's matMul (fast,
 * but bits may differ between backends).
 */
export type ProjectorSpec =
  | { kind: 'none'; dtype?: StorageDtype }
  | {
      kind: 'kronecker';
      k1: number;
      k2: number;
      seed: number;
      dtype?: StorageDtype;
      engine?: 'js' | 'tf';
    }
  | {
      kind: 'gaussian' | 'rademacher';
      k: number;
      seed: number;
      dtype?: StorageDtype;
      engine?: 'js' | 'tf';
    };

export type StorageDtype = 'float32' | 'float16';

/** Everything featurize needs besides the model and the data. */
export interface FeaturizeSpec {
  layers?: LayerSelection;
  projector: ProjectorSpec;
  testFunction?: TestFunction;
  /** Examples per forward/backward pass (default 256). */
  batchSize?: number;
}
