import { addressBody, canonical } from '../specAddress';
import { sha256 } from '../store/commit';
import type { RunSpec } from './runSpec';

export { canonical };

/**
 * Content addresses. Bump FEATURE_CODE_VERSION whenever the gradient engine's output for the same
 * inputs changes, so stale features are never reused. Each layer's storage form (factors or
 * (projected) gradient, lib/grad/factorStorage.ts) is a function of the projector and the model's
 * layer sizes, both in the address, under the rule of this version: grad-4 stores factors where
 * they are smaller. grad-5: a single linear output unit is a regression head (squared error) and
 * a single sigmoid unit a binary one, no longer logits. grad-6: engine 'tf' projects stored
 * Dense factors on the backend (float32 sums) where it summed them in float64 JS. grad-7: a
 * softmax or logits head's loss gradient is softmax − one-hot in float64 (lib/grad/head.ts
 * softmaxCrossEntropy), not float32 autodiff through logSoftmax, for chains of Dense layers.
 * grad-8: a file whose first layer's exact factors are each example's input and a 1 leaves them
 * to the input part (lib/pipeline/inputColumns.ts), and one whose stored numbers are mostly
 * zeros stores them zero-suppressed (lib/pipeline/zeroSuppressed.ts): code before it would
 * misread or reject such files. grad-9: the engine's features hold +0 where they held -0
 * (lib/grad/projectors.ts projectBlocks). Since grad-9, a shard under a quarter of its part
 * stores its inputs (featurizeShard.ts INPUTS_BY_REFERENCE_FROM): the same values in a form every
 * reader since grad-8 reads, so files written either way are served alike and no bump was due.
 */
export const FEATURE_CODE_VERSION = 'grad-9';
/**
 * Likewise for what the score and reduce stages compute from features. score-3: the influence
 * self-score's curvature is summed as a tree of `reduceGroup` partials (lib/reduce/reduceTree.ts),
 * not one left fold over every shard. score-4: a shard's products are formed in blocks of training
 * rows (lib/pipeline/tensorScores.ts ROW_BLOCK), which may change a score's last bits.
 */
export const SCORE_CODE_VERSION = 'score-4';

export function featureSpecHash(spec: Pick<RunSpec, 'projector' | 'layers' | 'testFunction'>) {
  return sha256(
    canonical({
      projector: spec.projector,
      layers: spec.layers,
      testFunction: spec.testFunction,
      code: FEATURE_CODE_VERSION,
    }),
  ).slice(0, 24);
}

/** Where a run's (or an audit's) plan is stored under its prefix. */
export const planKeyOf = (prefix: string) => `${prefix}/plan.json`;

/** Where one (checkpoint, shard)'s features live: shared by every run that needs them. */
export function featureKey(checkpointHash: string, specHash: string, shardHash: string): string {
  return `features/${checkpointHash.slice(0, 24)}/${specHash}/${shardHash}`;
}

/** What a run's results depend on besides its spec: each input's content and the code. */
export interface RunInputs {
  checkpoints: { step: number; learningRate: number; hash: string }[];
  train: { parts: { sha256: string; rows: number }[] };
  query: { parts: { sha256: string; rows: number }[] };
  featureSpecHash: string;
}

/**
 * Everything a run's results are a function of: the whole parsed spec less its scheduling fields
 * (lib/specAddress.ts), the checkpoints (weights and learning rates), the data parts used and the
 * code versions. Stored in the plan; a stored plan whose body differs is never served.
 */
export function runAddressBody(spec: RunSpec, inputs: RunInputs): unknown {
  return addressBody('run', spec, {
    checkpoints: inputs.checkpoints.map((c) => ({
      step: c.step,
      learningRate: c.learningRate,
      hash: c.hash,
    })),
    train: inputs.train.parts.map((p) => ({ sha256: p.sha256, rows: p.rows })),
    query: inputs.query.parts.map((p) => ({ sha256: p.sha256, rows: p.rows })),
    features: inputs.featureSpecHash,
    code: SCORE_CODE_VERSION,
  });
}

export function runPrefixFor(spec: RunSpec, inputs: RunInputs): string {
  return `runs/${spec.name}/${sha256(canonical(runAddressBody(spec, inputs))).slice(0, 16)}`;
}
