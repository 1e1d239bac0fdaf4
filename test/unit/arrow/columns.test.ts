import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  metadataOf,
  readColumn,
  readList,
  readTable,
  STREAM_END,
  splitStream,
  streamChunk,
  writeColumns,
} from '../../../lib/arrow/columns';
import { concatBytes } from '../../../lib/bytes';

test('columns round-trip through IPC, list columns read zero-copy', () => {
  const rows = 5;
  const dim = 3;
  const vec = Float32Array.from({ length: rows * dim }, (_, i) => i * 0.5 - 2);
  const ids = Int32Array.from({ length: rows }, (_, i) => 100 + i);
  const half = Uint16Array.from({ length: rows * 2 }, (_, i) => 0x3c00 + i);
  const bytes = writeColumns(
    rows,
    {
      id: { values: ids },
      v: { values: vec, width: dim },
      h: { values: half, width: 2, type: 'float16' },
    },
    { spec: '{"k":3}' },
  );
  const table = readTable(bytes);
  assert.equal(table.numRows, rows);
  assert.deepEqual(metadataOf(table), { spec: '{"k":3}' });
  const v = readColumn<Float32Array>(table, 'v', 'float32');
  assert.equal(v.width, dim);
  assert.deepEqual(Array.from(v.values), Array.from(vec));
  assert.equal(v.values.buffer, bytes.buffer, 'list values are a view of the file bytes');
  assert.deepEqual(
    Array.from(readColumn<Int32Array>(table, 'id', 'int32').values),
    Array.from(ids),
  );
  assert.deepEqual(
    Array.from(readColumn<Uint16Array>(table, 'h', 'float16').values),
    Array.from(half),
  );
});

test('bad input is named', () => {
  assert.throws(
    () => writeColumns(2, { x: { values: new Float32Array(5), width: 2 } }),
    /"x" has 5 values, expected 2 rows × 2/,
  );
  assert.throws(
    () => readTable(new Uint8Array([1, 2, 3, 4]), 'shard 7'),
    /shard 7 is not a valid Arrow IPC file/,
  );
  const bytes = writeColumns(1, { x: { values: new Float32Array(1) } });
  assert.throws(() => readColumn(readTable(bytes), 'y', 'float32'), /no column "y"/);
  assert.throws(
    () => readColumn(readTable(bytes), 'x', 'int32'),
    /has type Float32, expected Int32/,
  );
  const truncated = bytes.subarray(0, bytes.length - 20);
  assert.throws(() => readTable(truncated), /not a valid Arrow IPC file/);
});

test('List<Float32> columns round-trip through one and several record batches', () => {
  const values = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const offsets = Int32Array.from([0, 2, 2, 5, 6]);
  for (const batchRows of [4, 1, 3]) {
    for (const format of ['file', 'stream'] as const) {
      const bytes = writeColumns(
        4,
        { id: { values: Int32Array.from([0, 1, 2, 3]) }, v: { type: 'list', values, offsets } },
        {},
        format,
        batchRows,
      );
      const got = readList(readTable(bytes), 'v');
      assert.deepEqual(got.values, values, `${batchRows} rows per batch, ${format}`);
      assert.deepEqual(got.offsets, offsets, `${batchRows} rows per batch, ${format}`);
    }
  }
  const bytes = writeColumns(1, { id: { values: Int32Array.from([0]) } });
  assert.throws(
    () => readList(readTable(bytes, 'x.arrow'), 'id', 'x.arrow'),
    /x\.arrow: column "id" has type Int32, expected List<Float32>/,
  );
});

test('a file written chunk by chunk from one stream per chunk is one stream, no bytes copied', () => {
  const chunk = (from: number, n: number) =>
    writeColumns(
      n,
      { v: { values: Float64Array.from({ length: n }, (_, i) => from + i) } },
      {},
      'stream',
    );
  const streams = [chunk(0, 3), chunk(3, 4), chunk(7, 2)];
  const pieces = streams.map((s, k) => streamChunk(s, k === 0, k === streams.length - 1));
  for (const [k, p] of pieces.entries()) assert.equal(p.buffer, streams[k].buffer);
  // Exactly the first schema, every chunk's batches, one end marker (a reader would also take a
  // repeated schema or a missing end marker, so the bytes are compared, not only what reads back).
  const split = streams.map(splitStream);
  assert.deepEqual(
    concatBytes(pieces),
    concatBytes([split[0].schema, ...split.map((s) => s.batches), STREAM_END]),
  );
  const table = readTable(concatBytes(pieces));
  assert.deepEqual(
    Array.from(readColumn<Float64Array>(table, 'v', 'float64').values),
    Array.from({ length: 9 }, (_, i) => i),
  );
  assert.deepEqual(streamChunk(streams[1], true, true), streams[1]);
  assert.throws(() => streamChunk(new Uint8Array(20), true, true), /not an Arrow IPC stream/);
});
