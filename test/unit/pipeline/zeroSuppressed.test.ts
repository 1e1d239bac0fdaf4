import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../lib/data/rng';
import { readFeatureFile, writeFeatureFile } from '../../../lib/pipeline/featureFile';
import { restoreZeros, suppressZeros, zeroFraction } from '../../../lib/pipeline/zeroSuppressed';

/** Rows with zeros, -0, NaN, denormals and values in every mask word, the last one partial. */
function rowsWithZeros(rows: number, width: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(rows * width);
  for (let i = 0; i < out.length; i++) {
    const u = rng.next();
    out[i] = u < 0.6 ? 0 : u < 0.62 ? -0 : u < 0.63 ? Number.NaN : u < 0.64 ? 1e-45 : u - 0.5;
  }
  out.fill(0, 0, width); // one row of zeros
  out.fill(1, width, 2 * width); // one row without
  return out;
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

for (const width of [1, 31, 32, 33, 780]) {
  test(`zero suppression round-trips every bit (width ${width})`, () => {
    const rows = 7;
    const data = rowsWithZeros(rows, width, width);
    const z = suppressZeros(data, rows, width);
    const plusZeros = bits(data).filter((b) => b === 0).length;
    assert.equal(z.values.length, data.length - plusZeros);
    assert.deepEqual(bits(restoreZeros(z, rows, width, 'f')), bits(data));
  });
}

test('columns from `from` on are suppressed as the same rows without the first ones would be', () => {
  const rows = 9;
  const [width, from] = [45, 13];
  const data = rowsWithZeros(rows, width, 3);
  const stored = new Float32Array(rows * (width - from));
  for (let i = 0; i < rows; i++) {
    stored.set(data.subarray(i * width + from, (i + 1) * width), i * (width - from));
  }
  const z = suppressZeros(data, rows, width, from);
  const values = Float32Array.from(z.values);
  assert.deepEqual(z, suppressZeros(stored, rows, width - from));
  // A later, larger call (the scratch buffer grows) leaves an earlier result as it was.
  suppressZeros(rowsWithZeros(50, 100, 4), 50, 100);
  assert.deepEqual(bits(z.values), bits(values));
  assert.deepEqual(bits(restoreZeros(z, rows, width - from, 'f')), bits(stored));
  assert.throws(() => suppressZeros(data, rows, width, width + 1), /column 46 is outside 45/);
});

test('zeroFraction counts +0 bits in the columns asked for', () => {
  const d = Float32Array.from([0, 0, 1, -0, 0, 2]);
  assert.equal(zeroFraction(d, 3), 3 / 6);
  assert.equal(zeroFraction(d, 3, 1), 2 / 4);
  assert.equal(zeroFraction(new Float32Array(0), 3), 0);
});

test('a mask that disagrees with the stored values is named, never guessed', () => {
  const data = Float32Array.from([0, 1, 2, 0, 0, 3]);
  const z = suppressZeros(data, 2, 3);
  assert.throws(
    () =>
      restoreZeros(
        { ...z, values: z.values.subarray(0, 2), offsets: Int32Array.from([0, 2, 2]) },
        2,
        3,
        'f.arrows',
      ),
    /f\.arrows: row 1's zero mask and stored values disagree/,
  );
  assert.throws(
    () => restoreZeros({ ...z, offsets: Int32Array.from([0, 2, 4]) }, 2, 3, 'f.arrows'),
    /f\.arrows: its stored values do not match its 2 rows/,
  );
  const extra = Int32Array.from(z.mask);
  extra[0] |= 1 << 5; // a column past the row's width
  assert.throws(() => restoreZeros({ ...z, mask: extra }, 2, 3, 'f.arrows'), /row 0's zero mask/);
});

test("transient values are the copy's bits, and a file encoded from them keeps its own", () => {
  const [rows, width] = [6, 70];
  const data = rowsWithZeros(rows, width, 5);
  const copied = suppressZeros(data, rows, width);
  assert.deepEqual(bits(suppressZeros(data, rows, width, 0, true).values), bits(copied.values));
  // writeFeatureFile encodes transient values: the next file's suppression reuses their array.
  const file = (d: Float32Array, format: 'file' | 'stream') =>
    writeFeatureFile(
      {
        ids: Int32Array.from({ length: rows }, (_, i) => i),
        labels: new Int32Array(rows),
        features: {
          grads: { rows, dim: width, data: d, layers: [{ name: 'l', offset: 0, size: width }] },
          loss: new Float32Array(rows),
          sqNorm: new Float64Array(rows),
        },
      },
      {
        modelHash: 'm',
        checkpointStep: 1,
        learningRate: 0.1,
        projector: { kind: 'none' },
        dtype: 'float32',
        codeVersion: 'v',
        backend: 'cpu',
        offset: 0,
        sparse: true,
      },
      format,
    );
  for (const format of ['file', 'stream'] as const) {
    const first = file(data, format);
    const before = Uint8Array.from(first);
    const scratch = suppressZeros(data, rows, width, 0, true).values.buffer;
    assert.notEqual(first.buffer, scratch);
    file(rowsWithZeros(rows, width, 6), format);
    assert.deepEqual(first, before);
    const read = readFeatureFile(first).features.grads.data;
    assert.deepEqual(bits(read), bits(data));
  }
});
