import { createHash } from 'node:crypto';
import {
  Bool,
  type Data,
  DataType,
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

/**
 * The project's dataset format: one Arrow IPC file per example set. Columns `id` and `label`
 * (Int32, -1 = unlabeled), then either `x` (FixedSizeList<Float32>[d], flat features) or `tokens`
 * (FixedSizeList<Int32>[L], 0-padded), optional `text` (Utf8 snippet for reports), optional `key`
 * (Utf8: the example's id as the user's data names it, `tda import --id`), and for
 * label-noise experiments `flipped` (Bool) and `original_label` (Int32). The schema metadata says
 * what the rows are: `kind`, `shape`, `classes`, `vocab_size` (text), `name`.
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
  const checkLen = (name: string, a: { length: number } | undefined, n: number): void => {
    if (a && a.length !== n) {
      throw new Error(`${what}: ${name} has ${a.length} values, expected ${n} (${rows} rows)`);
    }
  };
  checkLen('ids', ds.ids, rows);
  checkLen('labels', ds.labels, rows);
  checkLen('text', ds.text, rows);
  checkLen('keys', ds.keys, rows);
  checkLen('flipped', ds.flipped, rows);
  checkLen('originalLabels', ds.originalLabels, rows);
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
    for (let i = 0; i < ds.x.length; i++) {
      if (!Number.isFinite(ds.x[i])) {
        throw new Error(
          `${what}: feature ${i % d} of row ${Math.floor(i / d)} is ${ds.x[i]} (features must be finite, no NaN)`,
        );
      }
    }
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

function intColumn(values: Int32Array): Data {
  return makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values });
}

function listColumn(values: Float32Array | Int32Array, width: number, rows: number): Data {
  const leafType = values instanceof Float32Array ? new Float32() : new Int32();
  const leaf =
    values instanceof Float32Array
      ? makeData({ type: new Float32(), length: values.length, nullCount: 0, data: values })
      : makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values });
  const type = new FixedSizeList(width, new Field('item', leafType, false));
  return makeData({ type, length: rows, nullCount: 0, child: leaf });
}

export interface WriteOptions {
  /** Split into record batches of at most this many rows (default: one batch). */
  batchRows?: number;
}

/** Encodes a dataset as an Arrow IPC file; the feature column is built over `x`/`tokens` without copying. */
export function writeDataset(ds: Dataset, opts: WriteOptions = {}): Uint8Array {
  validateDataset(ds);
  const d = exampleSize(ds.shape);
  const metadata = new Map<string, string>([
    ['kind', ds.kind],
    ['shape', JSON.stringify(ds.shape)],
    ['classes', JSON.stringify(ds.classes)],
    ['name', ds.name],
  ]);
  if (ds.vocabSize !== undefined) metadata.set('vocab_size', String(ds.vocabSize));
  const batchRows = opts.batchRows ?? Math.max(1, ds.rows);
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
  }
  const starts: number[] = [0];
  for (let s = batchRows; s < ds.rows; s += batchRows) starts.push(s);
  const batches: RecordBatch[] = [];
  let schema: Schema | undefined;
  for (const start of starts) {
    const part = sliceRows(ds, start, Math.min(ds.rows, start + batchRows));
    const cols: [string, Data][] = [
      ['id', intColumn(part.ids)],
      ['label', intColumn(part.labels)],
    ];
    if (part.x) cols.push(['x', listColumn(part.x, d, part.rows)]);
    if (part.tokens) cols.push(['tokens', listColumn(part.tokens, d, part.rows)]);
    if (part.text) cols.push(['text', vectorFromArray(part.text, new Utf8()).data[0]]);
    if (part.keys) cols.push(['key', vectorFromArray(part.keys, new Utf8()).data[0]]);
    if (part.flipped) {
      cols.push([
        'flipped',
        vectorFromArray(Array.from(part.flipped, Boolean), new Bool()).data[0],
      ]);
    }
    if (part.originalLabels) cols.push(['original_label', intColumn(part.originalLabels)]);
    const fields = cols.map(([name, data]) => new Field(name, data.type, false));
    schema ??= new Schema(fields, metadata);
    const struct = makeData({
      type: new Struct(fields),
      length: part.rows,
      nullCount: 0,
      children: cols.map(([, data]) => data),
    });
    batches.push(new RecordBatch(schema, struct));
  }
  return tableToIPC(new Table(schema!, batches), 'file');
}

const MAGIC = 'ARROW1';

function hasMagic(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < MAGIC.length; i++) if (bytes[at + i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

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
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new Error(`${what} is not a valid Arrow IPC file: ${(e as Error).message}`);
  }
  const meta = table.schema.metadata;
  const kind = meta.get('kind') as DatasetKind | undefined;
  if (!kind) throw new Error(`${what}: schema metadata lacks "kind" (image|tabular|text)`);
  const shape = parseMeta<number[]>(meta, 'shape', what);
  const classes = parseMeta<string[]>(meta, 'classes', what);
  const vocabText = meta.get('vocab_size');
  const vocabSize = vocabText === undefined ? undefined : Number(vocabText);
  const fields = new Map(table.schema.fields.map((f) => [f.name, f]));
  const featureName = kind === 'text' ? 'tokens' : 'x';
  for (const name of ['id', 'label', featureName]) {
    if (!fields.has(name)) {
      throw new Error(
        `${what}: missing column "${name}" (a ${kind} dataset has id, label, ${featureName})`,
      );
    }
  }
  const expectInt = (name: string): void => {
    const t = fields.get(name)?.type;
    if (t && !(DataType.isInt(t) && t.bitWidth === 32 && t.isSigned)) {
      throw new Error(`${what}: column "${name}" has type ${t}, expected Int32`);
    }
  };
  expectInt('id');
  expectInt('label');
  expectInt('original_label');
  const ft = fields.get(featureName)!.type;
  const wantLeaf = kind === 'text' ? 'Int32' : 'Float32';
  if (!DataType.isFixedSizeList(ft) || String(ft.children[0].type) !== wantLeaf) {
    throw new Error(
      `${what}: column "${featureName}" has type ${ft}, expected FixedSizeList<${wantLeaf}>`,
    );
  }
  const width = ft.listSize;
  if (Array.isArray(shape) && exampleSize(shape) !== width) {
    throw new Error(
      `${what}: shape ${JSON.stringify(shape)} has ${exampleSize(shape)} elements per example but column "${featureName}" holds ${width}`,
    );
  }
  for (const name of ['text', 'key']) {
    const t = fields.get(name)?.type;
    if (t && !DataType.isUtf8(t)) {
      throw new Error(`${what}: column "${name}" has type ${t}, expected Utf8`);
    }
  }
  const flippedType = fields.get('flipped')?.type;
  if (flippedType && !DataType.isBool(flippedType)) {
    throw new Error(`${what}: column "flipped" has type ${flippedType}, expected Bool`);
  }
  for (const [name, f] of fields) {
    const col = table.getChild(name);
    if (col && col.nullCount > 0) {
      throw new Error(`${what}: column "${name}" (${f.type}) has ${col.nullCount} null values`);
    }
  }

  const ds: Dataset = {
    name: meta.get('name') ?? '',
    kind,
    shape,
    classes,
    rows: table.numRows,
    ids: flatColumn(table, 'id', 1) as Int32Array,
    labels: flatColumn(table, 'label', 1) as Int32Array,
  };
  if (vocabSize !== undefined) ds.vocabSize = vocabSize;
  if (kind === 'text') ds.tokens = flatColumn(table, 'tokens', width) as Int32Array;
  else ds.x = flatColumn(table, 'x', width) as Float32Array;
  if (fields.has('text')) ds.text = table.getChild('text')!.toArray() as string[];
  if (fields.has('key')) ds.keys = table.getChild('key')!.toArray() as string[];
  if (fields.has('flipped')) {
    const v = table.getChild('flipped')!;
    const f = new Uint8Array(ds.rows);
    for (let i = 0; i < ds.rows; i++) f[i] = v.get(i) ? 1 : 0;
    ds.flipped = f;
  }
  if (fields.has('original_label')) {
    ds.originalLabels = flatColumn(table, 'original_label', 1) as Int32Array;
  }
  return validateDataset(ds, what);
}

function parseMeta<T>(meta: Map<string, string>, key: string, what: string): T {
  const text = meta.get(key);
  if (text === undefined) throw new Error(`${what}: schema metadata lacks "${key}"`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what}: schema metadata "${key}" is not JSON: ${text.slice(0, 80)}`);
  }
}

/** A column's values as one flat array: a view of the IPC bytes per batch, concatenated if several. */
function flatColumn(table: Table, name: string, width: number): Float32Array | Int32Array {
  const parts: (Float32Array | Int32Array)[] = [];
  for (const batch of table.batches) {
    const col = batch.getChild(name)!;
    for (const d of col.data) {
      const leaf = width === 1 && !DataType.isFixedSizeList(d.type) ? d : d.children[0];
      const start = leaf === d ? d.offset : leaf.offset + d.offset * width;
      const values = leaf.values as Float32Array | Int32Array;
      parts.push(values.subarray(start, start + d.length * width));
    }
  }
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = parts[0] instanceof Float32Array ? new Float32Array(total) : new Int32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
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
  const d = exampleSize(ds.shape);
  const out: Dataset = {
    ...ds,
    rows: end - start,
    ids: ds.ids.subarray(start, end),
    labels: ds.labels.subarray(start, end),
  };
  if (ds.x) out.x = ds.x.subarray(start * d, end * d);
  if (ds.tokens) out.tokens = ds.tokens.subarray(start * d, end * d);
  if (ds.text) out.text = ds.text.slice(start, end);
  if (ds.keys) out.keys = ds.keys.slice(start, end);
  if (ds.flipped) out.flipped = ds.flipped.subarray(start, end);
  if (ds.originalLabels) out.originalLabels = ds.originalLabels.subarray(start, end);
  return out;
}

/** The given rows, in the given order, copied into a new dataset (for splits and samples). */
export function takeRows(ds: Dataset, rows: ArrayLike<number>, name = ds.name): Dataset {
  const d = exampleSize(ds.shape);
  const n = rows.length;
  const out: Dataset = {
    ...ds,
    name,
    rows: n,
    ids: new Int32Array(n),
    labels: new Int32Array(n),
  };
  if (ds.x) out.x = new Float32Array(n * d);
  if (ds.tokens) out.tokens = new Int32Array(n * d);
  if (ds.text) out.text = new Array(n);
  if (ds.keys) out.keys = new Array(n);
  if (ds.flipped) out.flipped = new Uint8Array(n);
  if (ds.originalLabels) out.originalLabels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!Number.isInteger(r) || r < 0 || r >= ds.rows) {
      throw new Error(`row ${r} is outside dataset "${ds.name}" of ${ds.rows} rows`);
    }
    out.ids[i] = ds.ids[r];
    out.labels[i] = ds.labels[r];
    if (ds.x) out.x!.set(ds.x.subarray(r * d, (r + 1) * d), i * d);
    if (ds.tokens) out.tokens!.set(ds.tokens.subarray(r * d, (r + 1) * d), i * d);
    if (ds.text) out.text![i] = ds.text[r];
    if (ds.keys) out.keys![i] = ds.keys[r];
    if (ds.flipped) out.flipped![i] = ds.flipped[r];
    if (ds.originalLabels) out.originalLabels![i] = ds.originalLabels[r];
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
