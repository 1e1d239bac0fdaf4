import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  type Data,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
} from 'apache-arrow';
import {
  type Dataset,
  readDataset,
  rowsHash,
  sliceRows,
  takeRows,
  validateDataset,
  writeDataset,
} from '../../../lib/data/dataset';
import { Rng } from '../../../lib/data/rng';

function imageSet(rows: number, seed = 1): Dataset {
  const rng = new Rng(seed);
  const shape = [2, 3, 1];
  const x = new Float32Array(rows * 6).map(() => rng.next());
  return {
    name: 'img',
    kind: 'image',
    shape,
    classes: ['a', 'b', 'c'],
    rows,
    ids: Int32Array.from({ length: rows }, (_, i) => i),
    labels: Int32Array.from({ length: rows }, (_, i) => (i % 4) - 1),
    x,
    text: Array.from({ length: rows }, (_, i) => `row ${i} é`),
    flipped: Uint8Array.from({ length: rows }, (_, i) => Number(i % 3 === 0)),
    originalLabels: Int32Array.from({ length: rows }, (_, i) => i % 3),
  };
}

function textSet(rows: number): Dataset {
  return {
    name: 'txt',
    kind: 'text',
    shape: [4],
    classes: ['ham', 'spam'],
    vocabSize: 10,
    rows,
    ids: Int32Array.from({ length: rows }, (_, i) => i),
    labels: Int32Array.from({ length: rows }, (_, i) => i % 2),
    tokens: Int32Array.from({ length: rows * 4 }, (_, i) => (i * 7) % 10),
  };
}

function assertSame(a: Dataset, b: Dataset): void {
  assert.equal(b.name, a.name);
  assert.equal(b.kind, a.kind);
  assert.deepEqual(b.shape, a.shape);
  assert.deepEqual(b.classes, a.classes);
  assert.equal(b.vocabSize, a.vocabSize);
  assert.equal(b.rows, a.rows);
  assert.deepEqual(Array.from(b.ids), Array.from(a.ids));
  assert.deepEqual(Array.from(b.labels), Array.from(a.labels));
  if (a.x) assert.deepEqual(Array.from(b.x!), Array.from(a.x));
  if (a.tokens) assert.deepEqual(Array.from(b.tokens!), Array.from(a.tokens));
  assert.deepEqual(b.text, a.text);
  if (a.flipped) assert.deepEqual(Array.from(b.flipped!), Array.from(a.flipped));
  if (a.originalLabels) {
    assert.deepEqual(Array.from(b.originalLabels!), Array.from(a.originalLabels));
  }
}

test('image dataset round-trips through Arrow IPC, features read as a view of the bytes', () => {
  const ds = imageSet(11);
  const bytes = writeDataset(ds);
  const back = readDataset(bytes);
  assertSame(ds, back);
  assert.equal(back.x!.buffer, bytes.buffer, 'x should be a view of the file bytes (zero-copy)');
  assert.equal(back.labels.buffer, bytes.buffer);
});

test('several record batches read back as one flat array', () => {
  const ds = imageSet(11);
  for (const batchRows of [1, 3, 5, 11, 50])
    assertSame(ds, readDataset(writeDataset(ds, { batchRows })));
  const t = textSet(7);
  assertSame(t, readDataset(writeDataset(t, { batchRows: 2 })));
});

test('text dataset round-trips; empty dataset round-trips', () => {
  const t = textSet(5);
  const back = readDataset(writeDataset(t));
  assertSame(t, back);
  assert.equal(back.x, undefined);
  const empty = { ...imageSet(0) };
  assertSame(empty, readDataset(writeDataset(empty)));
});

test('sliceRows gives views, takeRows copies in the given order', () => {
  const ds = imageSet(10);
  const s = sliceRows(ds, 3, 7);
  assert.equal(s.rows, 4);
  assert.equal(s.x!.buffer, ds.x!.buffer);
  for (let i = 0; i < 4; i++) {
    assert.equal(s.ids[i], ds.ids[3 + i]);
    for (let j = 0; j < 6; j++) assert.equal(s.x![i * 6 + j], ds.x![(3 + i) * 6 + j]);
  }
  assert.throws(() => sliceRows(ds, 5, 11), /outside dataset/);
  const t = takeRows(ds, [9, 0, 4]);
  assert.deepEqual(Array.from(t.ids), [9, 0, 4]);
  assert.deepEqual(Array.from(t.x!.subarray(6, 12)), Array.from(ds.x!.subarray(0, 6)));
  assert.deepEqual(t.text, [ds.text![9], ds.text![0], ds.text![4]]);
  assert.throws(() => takeRows(ds, [10]), /row 10 is outside/);
});

test('rowsHash: sha256 of the rows, same for the same content, changes with features or labels', () => {
  const ds = imageSet(10);
  const h = rowsHash(ds, 2, 6);
  assert.match(h, /^[0-9a-f]{64}$/);
  // A copy of the same rows, renumbered nowhere, read back from Arrow: same hash.
  const copy = readDataset(writeDataset(takeRows(ds, [2, 3, 4, 5])));
  assert.equal(rowsHash(copy), h);
  // Independent recomputation of the documented recipe.
  const ref = createHash('sha256');
  ref.update(JSON.stringify({ format: 'tda-dataset-1', kind: 'image', shape: [2, 3, 1], rows: 4 }));
  ref.update(Buffer.from(Int32Array.from([2, 3, 4, 5]).buffer));
  ref.update(Buffer.from(Int32Array.from([1, 2, -1, 0]).buffer));
  ref.update(Buffer.from(Float32Array.from(ds.x!.subarray(12, 36)).buffer));
  assert.equal(h, ref.digest('hex'));
  const changed = takeRows(ds, [2, 3, 4, 5]);
  changed.x![7] += 1e-3;
  assert.notEqual(rowsHash(changed), h);
  const relabeled = takeRows(ds, [2, 3, 4, 5]);
  relabeled.labels[0] = 0;
  assert.notEqual(rowsHash(relabeled), h);
  const snippet = takeRows(ds, [2, 3, 4, 5]);
  snippet.text![0] = 'other';
  assert.equal(rowsHash(snippet), h, 'snippets do not enter the hash');
  assert.notEqual(rowsHash(ds, 2, 5), h);
});

function int32(values: number[]): Data {
  return makeData({
    type: new Int32(),
    length: values.length,
    nullCount: 0,
    data: Int32Array.from(values),
  });
}

function rawFile(
  cols: Record<string, Data>,
  meta: Record<string, string>,
  rows: number,
): Uint8Array {
  const fields = Object.entries(cols).map(([n, d]) => new Field(n, d.type, false));
  const schema = new Schema(fields, new Map(Object.entries(meta)));
  const struct = makeData({
    type: new Struct(fields),
    length: rows,
    nullCount: 0,
    children: Object.values(cols),
  });
  return tableToIPC(new Table(schema, [new RecordBatch(schema, struct)]), 'file');
}

function floatList(
  values: number[],
  width: number,
  Type: typeof Float32 | typeof Float64 = Float32,
): Data {
  const t = new Type();
  const data = Type === Float32 ? Float32Array.from(values) : Float64Array.from(values);
  // biome-ignore lint/suspicious/noExplicitAny: makeData's overloads cannot follow the union
  const leaf = makeData({ type: t, length: values.length, nullCount: 0, data } as any);
  return makeData({
    // Typed as Float32 only to satisfy makeData's overloads; the Float64 case is the point of the test.
    type: new FixedSizeList(width, new Field('item', t as Float32, false)),
    length: values.length / width,
    nullCount: 0,
    child: leaf as unknown as Data<Float32>,
  });
}

const META = { kind: 'tabular', shape: '[2]', classes: '["a","b"]', name: 'raw' };

test('readDataset accepts a file made by hand with the documented columns', () => {
  const ds = readDataset(
    rawFile({ id: int32([0, 1]), label: int32([1, 0]), x: floatList([1, 2, 3, 4], 2) }, META, 2),
  );
  assert.deepEqual(Array.from(ds.x!), [1, 2, 3, 4]);
  assert.equal(ds.kind, 'tabular');
});

test('readDataset rejects malformed, truncated and mistyped files with clear errors', () => {
  const good = writeDataset(imageSet(4));
  assert.throws(() => readDataset(good.subarray(0, good.length - 20)), /truncated/);
  assert.throws(
    () => readDataset(new TextEncoder().encode('id,label\n1,2\n')),
    /not an Arrow IPC file/,
  );
  const corrupt = good.slice();
  corrupt.fill(0xff, 8, good.length - 8);
  assert.throws(() => readDataset(corrupt), /not a valid Arrow IPC file/);
  assert.throws(
    () => readDataset(rawFile({ id: int32([0]), x: floatList([1, 2], 2) }, META, 1)),
    /missing column "label"/,
  );
  assert.throws(
    () => readDataset(rawFile({ id: int32([0]), label: int32([0]) }, META, 1)),
    /missing column "x"/,
  );
  assert.throws(
    () =>
      readDataset(
        rawFile({ id: int32([0]), label: int32([0]), x: floatList([1, 2], 2, Float64) }, META, 1),
      ),
    /column "x" has type .*Float64.*expected FixedSizeList<Float32>/,
  );
  assert.throws(
    () =>
      readDataset(
        rawFile(
          { id: int32([0]), label: int32([0]), x: floatList([1, 2], 2) },
          { ...META, shape: '[3]' },
          1,
        ),
      ),
    /shape \[3\] has 3 elements per example but column "x" holds 2/,
  );
  assert.throws(
    () =>
      readDataset(rawFile({ id: int32([0]), label: int32([2]), x: floatList([1, 2], 2) }, META, 1)),
    /label 2 at row 0 is out of range: 2 classes/,
  );
  assert.throws(
    () =>
      readDataset(
        rawFile(
          { id: int32([0, 1]), label: int32([0, 1]), x: floatList([1, 2, Number.NaN, 4], 2) },
          META,
          2,
        ),
      ),
    /feature 0 of row 1 is NaN/,
  );
  const { kind: _k, ...noKind } = META;
  assert.throws(
    () =>
      readDataset(
        rawFile({ id: int32([0]), label: int32([0]), x: floatList([1, 2], 2) }, noKind, 1),
      ),
    /lacks "kind"/,
  );
  const metaError = (meta: Record<string, string>) => () =>
    readDataset(rawFile({ id: int32([0]), label: int32([0]), x: floatList([1, 2], 2) }, meta, 1));
  assert.throws(
    metaError({ ...META, shape: '[2' }),
    /schema metadata:\n {2}shape: is not JSON: \[2/,
  );
  assert.throws(metaError({ ...META, classes: '"a"' }), /classes: Invalid input: expected array/);
  assert.throws(metaError({ ...META, kind: 'audio' }), /kind: is not image, tabular or text/);
  assert.throws(metaError({ ...META, vocab_size: 'ten' }), /vocab_size: is not a whole number/);
});

test('writeDataset validates before writing', () => {
  const ds = imageSet(3);
  assert.throws(
    () => writeDataset({ ...ds, x: ds.x!.map((v, i) => (i === 4 ? Number.NaN : v)) }),
    /feature 4 of row 0 is NaN/,
  );
  assert.throws(
    () => writeDataset({ ...ds, shape: [2, 2, 1] }),
    /x has 18 values, expected 3 rows × d=4/,
  );
  assert.throws(
    () => writeDataset({ ...ds, labels: Int32Array.from([0, 3, 1]) }),
    /label 3 at row 1 is out of range/,
  );
  assert.throws(
    () => writeDataset({ ...textSet(2), vocabSize: 5 }),
    /token id 7 at row 0 is out of range \[0, 5\)/,
  );
  assert.throws(
    () => validateDataset({ ...ds, kind: 'audio' as never }),
    /kind must be image, tabular or text/,
  );
  // The first non-finite feature is named by row and feature, wherever it sits.
  const d = (ds.x as Float32Array).length / ds.rows;
  const lastK = ds.rows * d - 1;
  for (const [k, v] of [
    [0, Number.NaN],
    [d + 2, Number.POSITIVE_INFINITY],
    [lastK, Number.NEGATIVE_INFINITY],
  ]) {
    const x = Float32Array.from(ds.x as Float32Array);
    if (k !== lastK) x[lastK] = Number.NaN; // a later one too
    x[k] = v;
    assert.throws(
      () => validateDataset({ ...ds, x }),
      new RegExp(`feature ${k % d} of row ${Math.floor(k / d)} is ${v} \\(features must be finite`),
    );
  }
});
