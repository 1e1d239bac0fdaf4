import { batchNormalizationHandler } from './batchNormalization';
import { conv2dHandler } from './conv2d';
import { denseHandler } from './dense';
import { embeddingHandler } from './embedding';
import type { LayerHandler } from './handler';
import { layerNormalizationHandler } from './layerNormalization';
import { loraDenseHandler } from './loraDense';

/** Layer types with per-example gradients, by tfjs-layers class name. */
export const layerHandlers: Record<string, LayerHandler> = {
  Dense: denseHandler,
  Conv2D: conv2dHandler,
  Embedding: embeddingHandler,
  LoraDense: loraDenseHandler,
  BatchNormalization: batchNormalizationHandler,
  LayerNormalization: layerNormalizationHandler,
};

export type { LayerHandler } from './handler';
