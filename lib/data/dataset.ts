import { createHash } from 'node:crypto';
import { z } from 'zod';
import { allFinite } from '../allFinite';
import {
  type ColumnSpec,
  metadataOf,
  readColumn,
  readFlags,
  readStrings,
  readTable,
  writeColumns,
} from '../arrow/columns';
import { jsonText, parseWith } from '../jsonText';

/**
 * The project's dataset format: one Arrow IPC file per example set. Columns `id` and `label`
 * (Int32, -1 = unlabeled), then either `x` (FixedSizeList<Float32>[d], flat features) or `tokens`
 * (FixedSizeList<Int32>[L], 0-padded), optional `text` (Utf8 snippet for reports), optional `key`
 * (Utf8: the example's id as the user's data names it, `tda import --id`), and for
 * label-noise experiments `flipped` (Bool) and `original_label` (Int32). The schema metadata says
 * what the rows are: `kind`, `shape`, `classes`, `vocab_size` (text), `name`.
 *
 * Over 300 lines because the format is one unit: its column table, validation, writer, reader and
 * row slicing all follow COLUMNS, so a column is added here and nowhere else.
 */
export type DatasetKind = 'image' | 'tabular' | 'text';

export interface Dataset {
  name: string;
  kind: DatasetKind;
  /** Per-example input shape, e.g. [28, 28, 1] (images), [30] (tabular), [L] (text). */
  shape: number[];
  classes: string[];
  /** Token ids are in [0, vocabSize); 0 is padding. Text only. */
  vocabSize?: number;
  rows: number;
  ids: Int32Array;
  labels: Int32Array;
  /** rows × d features, row-major (image and tabular). */
  x?: Float32Array;
  /** rows × L token ids, row-major (text). */
  tokens?: Int32Array;
  text?: string[];
  /** The user's id of each example (`--id COL`), shown in reports in place of the row id. */
  keys?: string[];
  /** 1 where label noise changed the label. */
  flipped?: Uint8Array;
  originalLabels?: Int32Array;
}

export const UNLABELED = -1;

/** Elements per example: the product of the shape. */
export function exampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The columns of the format, in file order, each once: its Arrow name, the Dataset field that
 * holds it, its element type, and whether it holds a whole example per row (x, tokens: a
 * FixedSizeList of the shape's size) or one value. Writing, reading, slicing and row checks all
 * walk this table.
 */
const COLUMNS = [
  { column: 'id', field: 'ids', type: 'int32' },
  { column: 'label', field: 'labels', type: 'int32' },
  { column: 'x', field: 'x', type: 'float32', perExample: true },
  { column: 'tokens', field: 'tokens', type: 'int32', perExample: true },
  { column: 'text', field: 'text', type: 'utf8' },
  { column: 'key', field: 'keys', type: 'utf8' },
  { column: 'flipped', field: 'flipped', type: 'bool' },
  { column: 'original_label', field: 'originalLabels', type: 'int32' },
] as const;

type ColumnField = (typeof COLUMNS)[number]['field'];
type ColumnValues = Int32Array | Float32Array | Uint8Array | string[];

/** The data set's columns that are present, each with its values and elements per row. */
function presentColumns(ds: Dataset) {
  const d = exampleSize(ds.shape);
  return COLUMNS.flatMap((c) => {
    const values = ds[c.field] as ColumnValues | undefined;
    return values === undefined ? [] : [{ ...c, values, width: 'perExample' in c ? d : 1 }];
  });
}

/** Rows [start, end) of a column: a view of a typed array, a copy of strings. */
function sliceValues(v: ColumnValues, start: number, end: number, width: number): ColumnValues {
  return Array.isArray(v) ? v.slice(start, end) : v.subarray(start * width, end * width);
}

/**
 * Feature arrays validateDataset found finite. A data set's rows never change once read (the
 * engine reads its input tensors back from them too, lib/grad/layers/handler.ts hostTensor), so
 * the engine need not check a batch of them again at every checkpoint.
 */
const finiteRows = new WeakSet<Float32Array>();

/** Whether every feature value of `ds` is known finite (its x passed validateDataset). */
export function hasFiniteRows(ds: Dataset): boolean {
  return ds.x !== undefined && finiteRows.has(ds.x);
}

/** Throws an Error naming the first problem with a dataset held in memory. */
export function validateDataset(ds: Dataset, what = `dataset "${ds.name}"`): Dataset {
  const { rows } = ds;
  if (!['image', 'tabular', 'text'].includes(ds.kind)) {
    throw new Error(`${what}: kind must be image, tabular or text, got "${ds.kind}"`);
  }
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`${what}: bad row count ${rows}`);
  if (
    !Array.isArray(ds.shape) ||
    ds.shape.length === 0 ||
    ds.shape.some((s) => !Number.isInteger(s) || s <= 0)
  ) {
    throw new Error(
      `${what}: shape must be a non-empty list of positive integers, got ${JSON.stringify(ds.shape)}`,
    );
  }
  if (!Array.isArray(ds.classes) || ds.classes.length === 0) {
    throw new Error(`${what}: classes must be a non-empty list of class names`);
  }
  const d = exampleSize(ds.shape);
  for (const c of COLUMNS) {
    const a = ds[c.field];
    if (a && !('perExample' in c) && a.length !== rows) {
      throw new Error(
        `${what}: ${c.field} has ${a.length} values, expected ${rows} (${rows} rows)`,
      );
    }
  }
  if (!ds.ids || !ds.labels) throw new Error(`${what}: ids and labels are required`);
  if (ds.kind === 'text') {
    if (!ds.tokens) throw new Error(`${what}: a text dataset needs tokens`);
    if (ds.x) throw new Error(`${what}: a text dataset has tokens, not x`);
    if (ds.shape.length !== 1) {
      throw new Error(`${what}: a text dataset's shape is [L], got ${JSON.stringify(ds.shape)}`);
    }
    if (ds.tokens.length !== rows * d) {
      throw new Error(
        `${what}: tokens has ${ds.tokens.length} values, expected ${rows} rows × L=${d} = ${rows * d} (shape ${JSON.stringify(ds.shape)} does not match)`,
      );
    }
    const v = ds.vocabSize;
    if (v === undefined || !Number.isInteger(v) || v < 2) {
      throw new Error(`${what}: a text dataset needs vocabSize >= 2, got ${v}`);
    }
    for (let i = 0; i < ds.tokens.length; i++) {
      const t = ds.tokens[i];
      if (t < 0 || t >= v) {
        throw new Error(
          `${what}: token id ${t} at row ${Math.floor(i / d)} is out of range [0, ${v}) of the vocabulary`,
        );
      }
    }
  } else {
    if (!ds.x) throw new Error(`${what}: an ${ds.kind} dataset needs features x`);
    if (ds.tokens) throw new Error(`${what}: an ${ds.kind} dataset has x, not tokens`);
    if (ds.x.length !== rows * d) {
      throw new Error(
        `${what}: x has ${ds.x.length} values, expected ${rows} rows × d=${d} = ${rows * d} (shape ${JSON.stringify(ds.shape)} does not match)`,
      );
    }
    // The branch-free scan first (every part a worker reads passes here); then the first culprit.
    const finite = allFinite(ds.x);
    for (let i = 0; !finite && i < ds.x.length; i++) {
      if (!Number.isFinite(ds.x[i])) {
        throw new Error(
          `${what}: feature ${i % d} of row ${Math.floor(i / d)} is ${ds.x[i]} (features must be finite, no NaN)`,
        );
      }
    }
    finiteRows.add(ds.x);
  }
  const k = ds.classes.length;
  const checkLabels = (name: string, a: Int32Array): void => {
    for (let i = 0; i < a.length; i++) {
      if (a[i] < UNLABELED || a[i] >= k) {
        throw new Error(
          `${what}: ${name} ${a[i]} at row ${i} is out of range: ${k} classes (${ds.classes.join(', ')}), -1 for unlabeled`,
        );
      }
    }
  };
  checkLabels('label', ds.labels);
  if (ds.originalLabels) checkLabels('original_label', ds.originalLabels);
  return ds;
}

export interface WriteOptions {
  /** Split into record batches of at most this many rows (default: one batch). */
  batchRows?: number;
}

/** Encodes a dataset as an Arrow IPC file; the feature column is built over `x`/`tokens` without copying. */
export function writeDataset(ds: Dataset, opts: WriteOptions = {}): Uint8Array {
  validateDataset(ds);
  const metadata: Record<string, string> = {
    kind: ds.kind,
    shape: JSON.stringify(ds.shape),
    classes: JSON.stringify(ds.classes),
    name: ds.name,
  };
  if (ds.vocabSize !== undefined) metadata.vocab_size = String(ds.vocabSize);
  const columns: Record<string, ColumnSpec> = {};
  for (const c of presentColumns(ds)) {
    columns[c.column] =
      c.type === 'utf8'
        ? { type: 'utf8', values: c.values as string[] }
        : c.type === 'bool'
          ? { type: 'bool', values: c.values as Uint8Array }
          : {
              values: c.values as Int32Array | Float32Array,
              type: c.type,
              ...('perExample' in c ? { width: c.width, list: true } : {}),
            };
  }
  return writeColumns(ds.rows, columns, metadata, 'file', opts.batchRows ?? Math.max(1, ds.rows));
}

const MAGIC = 'ARROW1';

function hasMagic(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < MAGIC.length; i++) if (bytes[at + i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

/** The schema metadata of a data set file (what its rows are). */
const metadataSchema = z.object({
  kind: z.enum(['image', 'tabular', 'text'], {
    error: (i) =>
      i.input === undefined ? 'lacks "kind" (image|tabular|text)' : 'is not image, tabular or text',
  }),
  shape: jsonText(z.array(z.number())),
  classes: jsonText(z.array(z.string())),
  name: z.string().optional(),
  vocab_size: z.string().regex(/^\d+$/, 'is not a whole number').transform(Number).optional(),
});

/**
 * Parses an Arrow IPC file written by writeDataset (or any producer of the same columns).
 * With one record batch, `x`/`tokens`/`ids`/`labels` are views of `bytes` (zero-copy); with several
 * they are concatenated once.
 */
export function readDataset(bytes: Uint8Array, what = 'dataset file'): Dataset {
  if (!(bytes instanceof Uint8Array)) throw new Error(`${what}: expected bytes (Uint8Array)`);
  if (bytes.length < 12 || !hasMagic(bytes, 0)) {
    throw new Error(`${what} is not an Arrow IPC file: it does not start with "ARROW1"`);
  }
  if (!hasMagic(bytes, bytes.length - MAGIC.length)) {
    throw new Error(
      `${what} is truncated: an Arrow IPC file ends with "ARROW1" and this one does not (${bytes.length} bytes)`,
    );
  }
  const table = readTable(bytes, what);
  const meta = parseWith(metadataSchema, metadataOf(table), `${what}: schema metadata`);
  const present = new Set(table.schema.fields.map((f) => f.name));
  const featureName = meta.kind === 'text' ? 'tokens' : 'x';
  for (const name of ['id', 'label', featureName]) {
    if (!present.has(name)) {
      throw new Error(
        `${what}: missing column "${name}" (a ${meta.kind} dataset has id, label, ${featureName})`,
      );
    }
  }
  const ds: Dataset = {
    name: meta.name ?? '',
    kind: meta.kind,
    shape: meta.shape,
    classes: meta.classes,
    rows: table.numRows,
    ids: new Int32Array(0),
    labels: new Int32Array(0),
  };
  if (meta.vocab_size !== undefined) ds.vocabSize = meta.vocab_size;
  const fields: Partial<Record<ColumnField, ColumnValues>> = {};
  for (const c of COLUMNS) {
    // A text data set's features are its tokens; any other's, x.
    if (!present.has(c.column) || ('perExample' in c && c.column !== featureName)) continue;
    if (c.type === 'utf8') fields[c.field] = readStrings(table, c.column, what);
    else if (c.type === 'bool') fields[c.field] = readFlags(table, c.column, what);
    else {
      const list = 'perExample' in c;
      const { values, width } = readColumn<Int32Array | Float32Array>(
        table,
        c.column,
        c.type,
        what,
        list,
      );
      if (list && exampleSize(ds.shape) !== width) {
        throw new Error(
          `${what}: shape ${JSON.stringify(ds.shape)} has ${exampleSize(ds.shape)} elements per example but column "${c.column}" holds ${width}`,
        );
      }
      fields[c.field] = values;
    }
  }
  return validateDataset(Object.assign(ds, fields), what);
}

/** Rows [start, end) as views of the same arrays (no copy). */
export function sliceRows(ds: Dataset, start: number, end: number): Dataset {
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(end) ||
    start < 0 ||
    end > ds.rows ||
    start > end
  ) {
    throw new Error(
      `row range [${start}, ${end}) is outside dataset "${ds.name}" of ${ds.rows} rows`,
    );
  }
  const out: Dataset = { ...ds, rows: end - start };
  for (const c of presentColumns(ds)) {
    Object.assign(out, { [c.field]: sliceValues(c.values, start, end, c.width) });
  }
  return out;
}

/** The given rows, in the given order, copied into a new dataset (for splits and samples). */
export function takeRows(ds: Dataset, rows: ArrayLike<number>, name = ds.name): Dataset {
  const n = rows.length;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!Number.isInteger(r) || r < 0 || r >= ds.rows) {
      throw new Error(`row ${r} is outside dataset "${ds.name}" of ${ds.rows} rows`);
    }
  }
  const out: Dataset = { ...ds, name, rows: n };
  for (const { field, values, width } of presentColumns(ds)) {
    if (Array.isArray(values)) {
      Object.assign(out, { [field]: Array.from(rows, (r) => values[r]) });
      continue;
    }
    const Ctor = values.constructor as new (
      length: number,
    ) => Int32Array | Float32Array | Uint8Array;
    const taken = new Ctor(n * width);
    for (let i = 0; i < n; i++) {
      taken.set(values.subarray(rows[i] * width, (rows[i] + 1) * width), i * width);
    }
    Object.assign(out, { [field]: taken });
  }
  return out;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * sha256 (hex) of rows [start, end): what featurizing them depends on (kind, shape, ids, labels,
 * features), so an unchanged shard is recognised and not featurized twice. Snippets and noise
 * bookkeeping do not enter it. Typed arrays are hashed as their little-endian bytes.
 */
export function rowsHash(ds: Dataset, start = 0, end = ds.rows): string {
  const part = sliceRows(ds, start, end);
  const h = createHash('sha256');
  h.update(
    JSON.stringify({ format: 'tda-dataset-1', kind: ds.kind, shape: ds.shape, rows: part.rows }),
  );
  h.update(bytesOf(part.ids));
  h.update(bytesOf(part.labels));
  if (part.x) h.update(bytesOf(part.x));
  if (part.tokens) h.update(bytesOf(part.tokens));
  return h.digest('hex');
}
