/**
 * Keras 3 layer configs → TensorFlow.js (tfjs-layers) layer configs, one registry entry per layer
 * type. tfjs-layers reads the Keras 2 JSON dialect (snake_case, plain dtype strings), so each entry
 * copies the fields that change what the layer computes and refuses options tfjs cannot honour,
 * naming the layer. Initializers, regularizers and constraints are dropped: the weights are loaded
 * from the file and attribution takes no regularization term.
 */

export type KerasConfig = Record<string, unknown>;

/** A tfjs layer config in the Keras 2 JSON dialect tfjs-layers deserializes. */
export interface TfjsLayerConfig {
  class_name: string;
  config: Record<string, unknown>;
}

export class KerasImportError extends Error {
  override name = 'KerasImportError';
}

/** Where a problem is, for messages: `layer 'bn' (BatchNormalization) in model.keras`. */
export interface LayerContext {
  layer: string;
  type: string;
  file: string;
}

const where = (c: LayerContext) => `layer '${c.layer}' (${c.type}) in ${c.file}`;

export type LayerMapping = (cfg: KerasConfig, ctx: LayerContext) => TfjsLayerConfig;

/** Keras 3 activation names that tfjs-layers computes identically, by their tfjs name. */
const ACTIVATIONS: Record<string, string> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
  tanh: 'tanh',
  elu: 'elu',
  selu: 'selu',
  softplus: 'softplus',
  softsign: 'softsign',
  silu: 'swish', // x·sigmoid(x): tfjs's swish with its default alpha 1
  swish: 'swish',
  gelu: 'gelu', // both the exact erf form
  mish: 'mish',
};

function activation(cfg: KerasConfig, ctx: LayerContext): string {
  const a = cfg.activation;
  // Keras 3 writes a plain name, or {class_name: 'function', config: 'relu'} for some callers.
  const name =
    a === undefined || a === null
      ? 'linear'
      : typeof a === 'string'
        ? a
        : typeof (a as KerasConfig).config === 'string'
          ? ((a as KerasConfig).config as string)
          : JSON.stringify(a);
  const t = ACTIVATIONS[name];
  if (!t) {
    throw new KerasImportError(
      `${where(ctx)}: activation '${name}' is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`,
    );
  }
  return t;
}

/** The dtype a layer computes in: a plain string or Keras 3's DTypePolicy object. */
export function dtypeName(d: unknown): string | undefined {
  if (d === undefined || d === null) return undefined;
  if (typeof d === 'string') return d;
  const c = (d as KerasConfig).config as KerasConfig | undefined;
  return typeof c?.name === 'string' ? c.name : undefined;
}

function checkFloat32(cfg: KerasConfig, ctx: LayerContext): void {
  const d = dtypeName(cfg.dtype);
  if (d !== undefined && d !== 'float32') {
    throw new KerasImportError(
      `${where(ctx)}: dtype policy '${d}' is not supported; only float32 layers import`,
    );
  }
}

/** Refuses an option unless it has one of the values tfjs computes the same way. */
function only(cfg: KerasConfig, ctx: LayerContext, field: string, ...allowed: unknown[]): void {
  const v = cfg[field];
  if (v === undefined) return;
  if (!allowed.some((a) => JSON.stringify(a) === JSON.stringify(v))) {
    throw new KerasImportError(
      `${where(ctx)}: ${field}=${JSON.stringify(v)} is not supported (tfjs-layers needs ${allowed.map((a) => JSON.stringify(a)).join(' or ')})`,
    );
  }
}

/** Copies the named fields that are present. */
function pick(cfg: KerasConfig, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (cfg[f] !== undefined && cfg[f] !== null) out[f] = cfg[f];
  return out;
}

/** A layer of `type` whose config is `fields`, after the float32 check and the refusals. */
function layer(
  type: string,
  fields: string[],
  refuse: (cfg: KerasConfig, ctx: LayerContext) => void = () => {},
  extra: (cfg: KerasConfig, ctx: LayerContext) => Record<string, unknown> = () => ({}),
): LayerMapping {
  return (cfg, ctx) => {
    checkFloat32(cfg, ctx);
    refuse(cfg, ctx);
    return {
      class_name: type,
      config: {
        name: ctx.layer,
        trainable: cfg.trainable !== false,
        dtype: 'float32',
        ...pick(cfg, fields),
        ...extra(cfg, ctx),
      },
    };
  };
}

const withActivation = (cfg: KerasConfig, ctx: LayerContext) => ({
  activation: activation(cfg, ctx),
});

const noQuantization = (cfg: KerasConfig, ctx: LayerContext) => {
  only(cfg, ctx, 'quantization_config', null);
  only(cfg, ctx, 'lora_rank', null);
};

const CONV = ['filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate'];
const POOL = ['pool_size', 'strides', 'padding', 'data_format'];

const conv = (type: string, fields: string[]) =>
  layer(
    type,
    [...fields, 'use_bias'],
    (cfg, ctx) => {
      only(cfg, ctx, 'groups', 1);
      only(cfg, ctx, 'padding', 'valid', 'same'); // tfjs-layers has no causal convolution
      noQuantization(cfg, ctx);
    },
    withActivation,
  );

const globalPool = (type: string) =>
  layer(type, ['data_format'], (cfg, ctx) => only(cfg, ctx, 'keepdims', false));

/** Keras 3 class name → how to build the tfjs layer. */
export const kerasLayers: Record<string, LayerMapping> = {
  InputLayer: (cfg, ctx) => {
    only(cfg, ctx, 'sparse', false);
    only(cfg, ctx, 'ragged', false);
    const shape = cfg.batch_shape ?? cfg.batch_input_shape;
    if (!Array.isArray(shape)) {
      throw new KerasImportError(
        `${where(ctx)}: no batch_shape: the model's input shape is unknown`,
      );
    }
    const dtype = dtypeName(cfg.dtype) ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'int32') {
      throw new KerasImportError(
        `${where(ctx)}: input dtype '${dtype}' is not supported (float32 or int32)`,
      );
    }
    return {
      class_name: 'InputLayer',
      config: { name: ctx.layer, batch_input_shape: shape, dtype, sparse: false },
    };
  },
  Dense: layer('Dense', ['units', 'use_bias'], noQuantization, withActivation),
  Conv1D: conv('Conv1D', CONV),
  Conv2D: conv('Conv2D', CONV),
  DepthwiseConv2D: conv('DepthwiseConv2D', [
    'kernel_size',
    'strides',
    'padding',
    'data_format',
    'dilation_rate',
    'depth_multiplier',
  ]),
  SeparableConv2D: conv('SeparableConv2D', [...CONV, 'depth_multiplier']),
  Embedding: layer('Embedding', ['input_dim', 'output_dim', 'mask_zero'], noQuantization),
  BatchNormalization: layer(
    'BatchNormalization',
    ['axis', 'momentum', 'epsilon', 'center', 'scale'],
    (cfg, ctx) => {
      only(cfg, ctx, 'renorm', false);
      only(cfg, ctx, 'synchronized', false);
    },
  ),
  LayerNormalization: layer(
    'LayerNormalization',
    ['axis', 'epsilon', 'center', 'scale'],
    (cfg, ctx) => only(cfg, ctx, 'rms_scaling', false),
  ),
  Dropout: layer('Dropout', ['rate', 'noise_shape', 'seed']),
  Activation: layer('Activation', [], undefined, withActivation),
  Flatten: layer('Flatten', ['data_format']),
  Reshape: layer('Reshape', ['target_shape']),
  MaxPooling1D: layer('MaxPooling1D', POOL),
  MaxPooling2D: layer('MaxPooling2D', POOL),
  AveragePooling1D: layer('AveragePooling1D', POOL),
  AveragePooling2D: layer('AveragePooling2D', POOL),
  GlobalAveragePooling1D: globalPool('GlobalAveragePooling1D'),
  GlobalAveragePooling2D: globalPool('GlobalAveragePooling2D'),
  GlobalMaxPooling1D: globalPool('GlobalMaxPooling1D'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPooling2D'),
  Add: layer('Add', []),
  Multiply: layer('Multiply', []),
  Concatenate: layer('Concatenate', ['axis']),
};

/** The tfjs config for one Keras 3 layer; an unknown type fails naming the layer and its type. */
export function mapKerasLayer(
  className: string,
  cfg: KerasConfig,
  layerName: string,
  file: string,
): TfjsLayerConfig {
  const ctx = { layer: layerName, type: className, file };
  const m = kerasLayers[className];
  if (!m) {
    throw new KerasImportError(
      `${where(ctx)}: layer type ${className} cannot be imported; supported: ${Object.keys(kerasLayers).join(', ')}`,
    );
  }
  return m(cfg, ctx);
}
