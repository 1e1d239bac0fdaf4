import {
  Bool,
  type Data,
  DataType,
  Field,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int32,
  List,
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
 * Building and reading the project's Arrow IPC files as flat typed arrays, zero-copy both ways:
 * a FixedSizeList column is built over one flat array, and read back as a view of the file bytes
 * (row-wise access through vectors was 75× slower: notes/s3.md). Text and flag columns (Utf8,
 * Bool) are built and read as plain arrays.
 */
export type FlatArray = Float32Array | Float64Array | Int32Array | Uint16Array;
export type ElementType = 'float32' | 'float64' | 'int32' | 'float16';

export interface NumericColumn {
  values: FlatArray;
  /** Elements per row; 1 for a scalar column, else a FixedSizeList column. */
  width?: number;
  /** A FixedSizeList column even at width 1. */
  list?: boolean;
  /** Uint16Array values are float16 bit patterns. */
  type?: ElementType;
}

/** A Utf8 column, one string per row. */
export interface StringColumn {
  type: 'utf8';
  values: string[];
}

/** A Bool column, one flag per row (non-zero = true). */
export interface FlagColumn {
  type: 'bool';
  values: Uint8Array;
}

/** A List<Float32> column: row i is values[offsets[i] .. offsets[i + 1]). */
export interface ListColumn {
  type: 'list';
  values: Float32Array;
  offsets: Int32Array;
}

export type ColumnSpec = NumericColumn | StringColumn | FlagColumn | ListColumn;

function elementType(c: NumericColumn): Float32 | Float64 | Int32 | Float16 {
  const t = c.type ?? inferType(c.values);
  switch (t) {
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'int32':
      return new Int32();
    case 'float16':
      return new Float16();
  }
}

function inferType(v: FlatArray): ElementType {
  if (v instanceof Float32Array) return 'float32';
  if (v instanceof Float64Array) return 'float64';
  if (v instanceof Int32Array) return 'int32';
  return 'float16';
}

function makeColumn(name: string, c: ColumnSpec, rows: number): Data {
  if (c.type === 'list') {
    const { offsets, values } = c;
    if (offsets.length !== rows + 1 || offsets[0] !== 0 || offsets[rows] !== values.length) {
      throw new Error(`column "${name}": ${offsets.length} offsets do not frame ${rows} rows`);
    }
    const item = new Float32();
    const leaf = makeData({ type: item, length: values.length, nullCount: 0, data: values });
    const type = new List(new Field('item', item, false));
    return makeData({ type, length: rows, nullCount: 0, valueOffsets: offsets, child: leaf });
  }
  if (c.type === 'utf8' || c.type === 'bool') {
    if (c.values.length !== rows) {
      throw new Error(`column "${name}" has ${c.values.length} values, expected ${rows} rows`);
    }
    return c.type === 'utf8'
      ? vectorFromArray(c.values, new Utf8()).data[0]
      : vectorFromArray(Array.from(c.values, Boolean), new Bool()).data[0];
  }
  const width = c.width ?? 1;
  if (c.values.length !== rows * width) {
    throw new Error(
      `column "${name}" has ${c.values.length} values, expected ${rows} rows × ${width} = ${rows * width}`,
    );
  }
  const type = elementType(c);
  // biome-ignore lint/suspicious/noExplicitAny: makeData's overloads cannot follow a union type
  const leaf = makeData({ type, length: c.values.length, nullCount: 0, data: c.values } as any);
  if (width === 1 && !c.list) return leaf;
  const list = new FixedSizeList(width, new Field('item', type, false));
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return makeData({ type: list, length: rows, nullCount: 0, child: leaf } as any);
}

/** Rows [start, end) of a column (views of typed arrays, a copy of strings). */
function sliceColumn(c: ColumnSpec, start: number, end: number): ColumnSpec {
  if (c.type === 'list') {
    const o0 = c.offsets[start];
    return {
      ...c,
      values: c.values.subarray(o0, c.offsets[end]),
      offsets: c.offsets.slice(start, end + 1).map((o) => o - o0),
    };
  }
  if (c.type === 'utf8') return { ...c, values: c.values.slice(start, end) };
  if (c.type === 'bool') return { ...c, values: c.values.subarray(start, end) };
  const w = c.width ?? 1;
  return { ...c, values: c.values.subarray(start * w, end * w) };
}

/**
 * Encodes columns of equal row count as one Arrow IPC file or stream: one record batch, or
 * record batches of at most `batchRows` rows.
 */
export function writeColumns(
  rows: number,
  columns: Record<string, ColumnSpec>,
  metadata: Record<string, string> = {},
  format: 'file' | 'stream' = 'file',
  batchRows = Math.max(1, rows),
): Uint8Array {
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
  }
  const entries = Object.entries(columns);
  let schema: Schema | undefined;
  const batches: RecordBatch[] = [];
  for (let start = 0; start === 0 || start < rows; start += batchRows) {
    const end = Math.min(rows, start + batchRows);
    const data = entries.map(([name, c]) =>
      makeColumn(name, batchRows >= rows ? c : sliceColumn(c, start, end), end - start),
    );
    const fields = entries.map(([name], i) => new Field(name, data[i].type, false));
    schema ??= new Schema(fields, new Map(Object.entries(metadata)));
    const struct = makeData({
      type: new Struct(fields),
      length: end - start,
      nullCount: 0,
      children: data,
    });
    batches.push(new RecordBatch(schema, struct));
  }
  return tableToIPC(new Table(schema as Schema, batches), format);
}

/** The end-of-stream marker of the Arrow IPC stream format (continuation, zero length). */
export const STREAM_END = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

/**
 * An Arrow IPC stream's schema message and its record-batch messages (without the end marker).
 * Streams of one schema concatenate: schema, the batches of each, then STREAM_END is one
 * stream, which is how a file is written chunk by chunk with each byte sent once.
 */
export function splitStream(bytes: Uint8Array): { schema: Uint8Array; batches: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tail = bytes.subarray(bytes.byteLength - STREAM_END.byteLength);
  if (
    bytes.byteLength < 16 ||
    view.getUint32(0, true) !== 0xffffffff ||
    !tail.every((b, i) => b === STREAM_END[i])
  ) {
    throw new Error('not an Arrow IPC stream (continuation marker or end marker missing)');
  }
  // A schema message has no body: the marker, its metadata length, then the metadata.
  const schemaEnd = 8 + view.getInt32(4, true);
  return {
    schema: bytes.subarray(0, schemaEnd),
    batches: bytes.subarray(schemaEnd, bytes.byteLength - STREAM_END.byteLength),
  };
}

/**
 * Chunk `bytes` (one Arrow IPC stream) as a piece of a file written chunk by chunk: its schema
 * message only when it is the first chunk, the end marker only when it is the last. A view, not
 * a copy: a stream's schema, batches and end marker lie in that order in one array (joining
 * them again copied a featurize's first and last chunks, 30 MB per bench:main shard).
 */
export function streamChunk(bytes: Uint8Array, first: boolean, last: boolean): Uint8Array {
  const { schema } = splitStream(bytes);
  const end = last ? bytes.byteLength : bytes.byteLength - STREAM_END.byteLength;
  return bytes.subarray(first ? 0 : schema.byteLength, end);
}

/** Parses IPC bytes, naming the file in the error when they are not Arrow. */
export function readTable(bytes: Uint8Array, what = 'Arrow file'): Table {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new Error(`${what} is not a valid Arrow IPC file: ${(e as Error).message}`);
  }
  if (table.schema.fields.length === 0) {
    throw new Error(`${what} is not a valid Arrow IPC file: it has no columns`);
  }
  return table;
}

export function metadataOf(table: Table): Record<string, string> {
  return Object.fromEntries(table.schema.metadata);
}

/** The column's field, present and without nulls. */
function fieldOf(table: Table, name: string, what: string): Field {
  const field = table.schema.fields.find((f) => f.name === name);
  if (!field) throw new Error(`${what} has no column "${name}"`);
  const nulls = table.getChild(name)?.nullCount ?? 0;
  if (nulls > 0) {
    throw new Error(`${what}: column "${name}" (${field.type}) has ${nulls} null values`);
  }
  return field;
}

/**
 * A column's values as one flat typed array, row-major: a view of the file's bytes when the
 * table has one record batch, else one copy. Checks the column exists, has no nulls and has the
 * element type (and, with `list` given, is or is not a FixedSizeList).
 */
export function readColumn<T extends FlatArray>(
  table: Table,
  name: string,
  expected: ElementType,
  what = 'Arrow file',
  list?: boolean,
): { values: T; width: number } {
  const field = fieldOf(table, name, what);
  const isList = field.type instanceof FixedSizeList;
  const leafType = isList ? (field.type as FixedSizeList).children[0].type : field.type;
  const want = elementType({ values: new Float32Array(), type: expected });
  if (String(leafType) !== String(want) || (list !== undefined && list !== isList)) {
    const wanted = list ? `FixedSizeList<${want}>` : String(want);
    const got = list === undefined ? leafType : field.type;
    throw new Error(`${what}: column "${name}" has type ${got}, expected ${wanted}`);
  }
  const width = isList ? (field.type as FixedSizeList).listSize : 1;
  const parts: T[] = [];
  for (const batch of table.batches) {
    const col = batch.getChild(name);
    if (!col) throw new Error(`${what}: a record batch lacks column "${name}"`);
    for (const d of col.data) {
      const leaf = isList ? d.children[0] : d;
      // Sliced data keeps its parent's buffer: take this chunk's window of it.
      const start = (leaf.offset + (isList ? d.offset * width : 0)) as number;
      const values = leaf.values as T;
      parts.push(values.subarray(start, start + d.length * width) as T);
    }
  }
  if (parts.length === 1) return { values: parts[0], width };
  const total = parts.reduce((s, p) => s + p.length, 0);
  const Ctor = parts[0].constructor as new (n: number) => T;
  const out = new Ctor(total);
  let o = 0;
  for (const p of parts) {
    out.set(p as never, o);
    o += p.length;
  }
  return { values: out, width };
}

/**
 * A List<Float32> column's values and row offsets over every record batch (checked: present,
 * that type, no nulls): views of the file's bytes for one batch, else one copy.
 */
export function readList(
  table: Table,
  name: string,
  what = 'Arrow file',
): { values: Float32Array; offsets: Int32Array } {
  const field = fieldOf(table, name, what);
  const item = DataType.isList(field.type) ? field.type.children[0].type : undefined;
  if (!item || String(item) !== String(new Float32())) {
    throw new Error(`${what}: column "${name}" has type ${field.type}, expected List<Float32>`);
  }
  const values: Float32Array[] = [];
  const offsets: Int32Array[] = [];
  for (const batch of table.batches) {
    const col = batch.getChild(name);
    if (!col) throw new Error(`${what}: a record batch lacks column "${name}"`);
    for (const d of col.data) {
      const o = (d.valueOffsets as Int32Array).subarray(d.offset, d.offset + d.length + 1);
      const leaf = d.children[0];
      values.push(
        (leaf.values as Float32Array).subarray(leaf.offset + o[0], leaf.offset + o[d.length]),
      );
      offsets.push(o);
    }
  }
  if (values.length === 1 && offsets[0][0] === 0) return { values: values[0], offsets: offsets[0] };
  const rows = offsets.reduce((n, o) => n + o.length - 1, 0);
  const allOffsets = new Int32Array(rows + 1);
  const allValues = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let r = 0;
  let v = 0;
  for (const [k, o] of offsets.entries()) {
    for (let i = 1; i < o.length; i++) allOffsets[r + i] = v + o[i] - o[0];
    allValues.set(values[k], v);
    r += o.length - 1;
    v += values[k].length;
  }
  return { values: allValues, offsets: allOffsets };
}

/** A Utf8 column's strings (checked: present, Utf8, no nulls). */
export function readStrings(table: Table, name: string, what = 'Arrow file'): string[] {
  const field = fieldOf(table, name, what);
  if (!DataType.isUtf8(field.type)) {
    throw new Error(`${what}: column "${name}" has type ${field.type}, expected Utf8`);
  }
  return table.getChild(name)?.toArray() as string[];
}

/** A Bool column as 0/1 per row (checked: present, Bool, no nulls). */
export function readFlags(table: Table, name: string, what = 'Arrow file'): Uint8Array {
  const field = fieldOf(table, name, what);
  if (!DataType.isBool(field.type)) {
    throw new Error(`${what}: column "${name}" has type ${field.type}, expected Bool`);
  }
  const v = table.getChild(name);
  return Uint8Array.from({ length: table.numRows }, (_, i) => (v?.get(i) ? 1 : 0));
}
