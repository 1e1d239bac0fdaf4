/** Public API of the gradient engine. */
export { blockSqNorms, concatBlocks } from './blockMath';
export { type ExactDots, exactDots } from './dotProducts';
export { factorLayout } from './factorStorage';
export {
  type BatchFactors,
  computeFactors,
  type ModelPlan,
  modelHead,
  type PlanStep,
  planModel,
} from './factors';
export { type FeaturizeOptions, featurize, featurizeFactors } from './featurize';
export { decodeFloat16, encodeFloat16, roundToFloat16, toHalf } from './float16';
export { type Head, type HeadKind, headOf } from './head';
export { kroneckerFactor, kroneckerSides } from './kroneckerFactor';
export { LoraDense, type LoraDenseArgs, loraDense } from './LoraDense';
export { checkProjector } from './projectorSpec';
export { projectBlocks, projectedSize } from './projectors';
export type {
  FactorBlock,
  FeaturizeSpec,
  LayerSelection,
  ProjectorSpec,
  StorageDtype,
  TestFunction,
} from './types';
