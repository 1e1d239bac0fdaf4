import { z } from 'zod';
import { type ColumnSpec, metadataOf, readColumn, readTable, writeColumns } from '../arrow/columns';
import type { ExampleFeatures, LayerSlice } from '../features';
import { decodeFloat16, encodeFloat16 } from '../grad/float16';
import { jsonText, parseWith } from '../jsonText';

/**
 * One featurized (checkpoint, shard) as an Arrow IPC file: example id, label, loss, exact squared
 * gradient norm (total and per layer), projected gradient (float32 or float16). What it was
 * computed from rides in the schema metadata, so a file can always be traced to its inputs.
 */
export interface FeatureFileMeta {
  modelHash: string;
  checkpointStep: number;
  learningRate: number;
  projector: unknown;
  layers: LayerSlice[];
  dtype: 'float32' | 'float16';
  codeVersion: string;
  /**
   * The tfjs backend that computed it (lib/tf/backend activeBackend): float32 gradients differ
   * between backends in their last bits, so two files under one address can be told apart.
   */
  backend: string;
  /** Global row offset of the first example. */
  offset: number;
}

export interface FeatureFile {
  ids: Int32Array;
  labels: Int32Array;
  features: ExampleFeatures;
  meta: FeatureFileMeta;
}

const META_KEY = 'tda.features';

const count = z.number().int().min(0);
const metadataSchema = z.object({
  [META_KEY]: jsonText(
    z.object({
      modelHash: z.string(),
      checkpointStep: count,
      learningRate: z.number(),
      projector: z.unknown(),
      layers: z.array(
        z.object({
          name: z.string(),
          offset: count,
          size: count,
          factors: z.object({ positions: count, inDim: count, outDim: count }).optional(),
        }),
      ),
      dtype: z.enum(['float32', 'float16']),
      codeVersion: z.string(),
      backend: z.string(),
      offset: count,
    }),
  ),
});

/**
 * Featurize writes the stream format, chunk by chunk (lib/store/chunkedUpload.ts); readers take
 * either format.
 */
export function writeFeatureFile(
  f: Omit<FeatureFile, 'meta'>,
  meta: Omit<FeatureFileMeta, 'layers'>,
  format: 'file' | 'stream' = 'file',
): Uint8Array {
  const { grads } = f.features;
  const rows = grads.rows;
  const columns: Record<string, ColumnSpec> = {
    id: { values: f.ids },
    label: { values: f.labels },
    loss: { values: f.features.loss },
    sq_norm: { values: f.features.sqNorm },
    grad:
      meta.dtype === 'float16'
        ? { values: encodeFloat16(grads.data), width: grads.dim, type: 'float16' }
        : { values: grads.data, width: grads.dim },
  };
  if (f.features.layerSqNorm) {
    columns.layer_sq_norm = { values: f.features.layerSqNorm, width: grads.layers.length };
  }
  const full: FeatureFileMeta = { ...meta, layers: grads.layers };
  return writeColumns(rows, columns, { [META_KEY]: JSON.stringify(full) }, format);
}

export function readFeatureFile(bytes: Uint8Array, what = 'feature file'): FeatureFile {
  const table = readTable(bytes, what);
  const raw = metadataOf(table);
  if (!raw[META_KEY]) throw new Error(`${what} has no "${META_KEY}" metadata: not a feature file`);
  const meta: FeatureFileMeta = parseWith(metadataSchema, raw, `${what}: schema metadata`)[
    META_KEY
  ];
  let grad: { values: Float32Array; width: number };
  if (meta.dtype === 'float16') {
    const c = readColumn<Uint16Array>(table, 'grad', 'float16', what);
    grad = { values: decodeFloat16(c.values), width: c.width };
  } else {
    grad = readColumn<Float32Array>(table, 'grad', 'float32', what);
  }
  const rows = table.numRows;
  const hasLayerNorms = table.schema.fields.some((x) => x.name === 'layer_sq_norm');
  return {
    ids: readColumn<Int32Array>(table, 'id', 'int32', what).values,
    labels: readColumn<Int32Array>(table, 'label', 'int32', what).values,
    features: {
      grads: { rows, dim: grad.width, data: grad.values, layers: meta.layers },
      loss: readColumn<Float32Array>(table, 'loss', 'float32', what).values,
      sqNorm: readColumn<Float64Array>(table, 'sq_norm', 'float64', what).values,
      layerSqNorm: hasLayerNorms
        ? readColumn<Float64Array>(table, 'layer_sq_norm', 'float64', what).values
        : undefined,
    },
    meta,
  };
}
