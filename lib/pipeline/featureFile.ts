import { z } from 'zod';
import {
  type ColumnSpec,
  metadataOf,
  readColumn,
  readList,
  readTable,
  writeColumns,
} from '../arrow/columns';
import type { ExampleFeatures, LayerSlice } from '../features';
import { decodeFloat16, encodeFloat16 } from '../grad/float16';
import { jsonText, parseWith } from '../jsonText';
import { dropInputColumns, type InputRows, restoreInputColumns } from './inputColumns';
import { restoreZeros, suppressZeros } from './zeroSuppressed';

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
  /**
   * Leading columns left out of the file because they are each example's input row and a 1
   * (lib/pipeline/inputColumns.ts); readers put them back from the input part. Absent: none.
   */
  inputColumns?: number;
  /**
   * The stored columns are zero-suppressed (lib/pipeline/zeroSuppressed.ts): columns `grad_mask`
   * and `grad_values` in place of `grad`. Absent: not.
   */
  sparse?: boolean;
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
      inputColumns: count.optional(),
      sparse: z.boolean().optional(),
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
  const cols = meta.inputColumns ?? 0;
  const first = grads.layers[0]?.factors;
  if (cols > 0 && (meta.dtype !== 'float32' || first?.positions !== 1 || first.inDim !== cols)) {
    throw new Error(
      `a feature file leaves out only its first layer's float32 inputs (${cols} columns asked)`,
    );
  }
  if (meta.sparse && meta.dtype !== 'float32') {
    throw new Error('a feature file suppresses zeros only in float32');
  }
  const width = grads.dim - cols;
  const columns: Record<string, ColumnSpec> = {
    id: { values: f.ids },
    label: { values: f.labels },
    loss: { values: f.features.loss },
    sq_norm: { values: f.features.sqNorm },
  };
  if (meta.sparse) {
    // Transient: a view of the process's scratch, encoded (copied into the file's bytes) by the
    // synchronous writeColumns below. No await may come between the two: another activity slot's
    // suppression would overwrite the scratch.
    const z = suppressZeros(grads.data, rows, grads.dim, cols, true);
    columns.grad_mask = { values: z.mask, width: z.words, list: true };
    columns.grad_values = { type: 'list', values: z.values, offsets: z.offsets };
  } else {
    const data = cols > 0 ? dropInputColumns(grads, cols) : grads.data;
    columns.grad =
      meta.dtype === 'float16'
        ? { values: encodeFloat16(data), width, type: 'float16' }
        : { values: data, width };
  }
  if (f.features.layerSqNorm) {
    columns.layer_sq_norm = { values: f.features.layerSqNorm, width: grads.layers.length };
  }
  const full: FeatureFileMeta = { ...meta, layers: grads.layers };
  if (!cols) delete full.inputColumns;
  if (!meta.sparse) delete full.sparse;
  return writeColumns(rows, columns, { [META_KEY]: JSON.stringify(full) }, format);
}

/** A feature file read whole; one that stores its inputs by reference needs its input rows. */
export function readFeatureFile(
  bytes: Uint8Array,
  what = 'feature file',
  input?: InputRows,
): FeatureFile {
  return openFeatureFile(bytes, what).complete(input);
}

/**
 * A feature file parsed, its metadata checked: `complete` reads its columns, putting back the
 * columns it stores by reference (meta.inputColumns) from `input`, which it then requires.
 */
export function openFeatureFile(
  bytes: Uint8Array,
  what = 'feature file',
): { meta: FeatureFileMeta; complete: (input?: InputRows) => FeatureFile } {
  const table = readTable(bytes, what);
  const raw = metadataOf(table);
  if (!raw[META_KEY]) throw new Error(`${what} has no "${META_KEY}" metadata: not a feature file`);
  const meta: FeatureFileMeta = parseWith(metadataSchema, raw, `${what}: schema metadata`)[
    META_KEY
  ];
  const complete = (input?: InputRows): FeatureFile => {
    let grad: { values: Float32Array; width: number };
    const rows = table.numRows;
    if (meta.sparse) {
      const dim = meta.layers.reduce((m, l) => Math.max(m, l.offset + l.size), 0);
      const width = dim - (meta.inputColumns ?? 0);
      const mask = readColumn<Int32Array>(table, 'grad_mask', 'int32', what, true);
      const { values, offsets } = readList(table, 'grad_values', what);
      const z = { mask: mask.values, words: mask.width, values, offsets };
      grad = { values: restoreZeros(z, rows, width, what), width };
    } else if (meta.dtype === 'float16') {
      const c = readColumn<Uint16Array>(table, 'grad', 'float16', what);
      grad = { values: decodeFloat16(c.values), width: c.width };
    } else {
      grad = readColumn<Float32Array>(table, 'grad', 'float32', what);
    }
    const ids = readColumn<Int32Array>(table, 'id', 'int32', what).values;
    const cols = meta.inputColumns ?? 0;
    if (cols > 0) {
      if (!input) {
        throw new Error(
          `${what} stores its first ${cols} columns by reference to its input part: read it with that part`,
        );
      }
      grad = {
        values: restoreInputColumns(grad.values, grad.width, cols, ids, input, what),
        width: grad.width + cols,
      };
    }
    const hasLayerNorms = table.schema.fields.some((x) => x.name === 'layer_sq_norm');
    return {
      ids,
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
  };
  return { meta, complete };
}
