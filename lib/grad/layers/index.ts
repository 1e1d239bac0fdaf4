import { batchNormalizationHandler } from './batchNormalization';
import { conv1dHandler } from './conv1d';
import { conv2dHandler } from './conv2d';
import { denseHandler } from './dense';
import { depthwiseConv2dHandler } from './depthwiseConv2d';
import { embeddingHandler } from './embedding';
import type { LayerHandler } from './handler';
import { layerNormalizationHandler } from './layerNormalization';
import { loraDenseHandler } from './loraDense';
import { separableConv2dHandler } from './separableConv2d';

/** Layer types with per-example gradients, by tfjs-layers class name. */
export const layerHandlers: Record<string, LayerHandler> = {
  Dense: denseHandler,
  Conv1D: conv1dHandler,
  Conv2D: conv2dHandler,
  DepthwiseConv2D: depthwiseConv2dHandler,
  SeparableConv2D: separableConv2dHandler,
  Embedding: embeddingHandler,
  LoraDense: loraDenseHandler,
  BatchNormalization: batchNormalizationHandler,
  LayerNormalization: layerNormalizationHandler,
};

export type { LayerHandler } from './handler';
