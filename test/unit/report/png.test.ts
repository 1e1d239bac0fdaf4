import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { histogram } from '../../../lib/report/histogram';
import { crc32, encodePng, toBytes } from '../../../lib/report/png';

// Reference CRC-32 (bit by bit, no table).
function crcRef(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('PNG: valid chunks and CRCs, pixels survive inflate', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  for (const channels of [1, 3, 4] as const) {
    const w = 5;
    const h = 3;
    const px = Uint8Array.from({ length: w * h * channels }, (_, i) => (i * 37) % 256);
    const png = encodePng(px, w, h, channels);
    assert.deepEqual(
      Array.from(png.subarray(0, 8)),
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    );
    const view = new DataView(png.buffer, png.byteOffset);
    let o = 8;
    const types: string[] = [];
    let idat = new Uint8Array(0);
    while (o < png.length) {
      const len = view.getUint32(o);
      const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
      types.push(type);
      assert.equal(
        view.getUint32(o + 8 + len),
        crcRef(png.subarray(o + 4, o + 8 + len)),
        `${type} CRC`,
      );
      if (type === 'IHDR') {
        assert.equal(view.getUint32(o + 8), w);
        assert.equal(view.getUint32(o + 12), h);
      }
      if (type === 'IDAT') idat = png.slice(o + 8, o + 8 + len);
      o += 12 + len;
    }
    assert.deepEqual(types, ['IHDR', 'IDAT', 'IEND']);
    const raw = inflateSync(idat);
    for (let y = 0; y < h; y++) {
      assert.equal(raw[y * (w * channels + 1)], 0, 'filter type none');
      for (let i = 0; i < w * channels; i++)
        assert.equal(raw[y * (w * channels + 1) + 1 + i], px[y * w * channels + i]);
    }
  }
  assert.throws(() => encodePng(new Uint8Array(5), 2, 2), /got 5 values, expected 2×2×1 = 4/);
  assert.deepEqual(Array.from(toBytes([0, 0.5, 1, 2, -1, Number.NaN])), [0, 128, 255, 255, 0, 0]);
});

test('histogram counts every finite value once', () => {
  const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
  values.push(Number.NaN, Number.POSITIVE_INFINITY);
  const h = histogram(values, 7);
  assert.equal(
    h.counts.reduce((a, b) => a + b, 0),
    1000,
  );
  for (let b = 0; b < 7; b++) {
    const ref = values.filter(
      (v) =>
        Number.isFinite(v) && v >= h.edges[b] && (b === 6 ? v <= h.edges[7] : v < h.edges[b + 1]),
    ).length;
    assert.equal(h.counts[b], ref);
  }
  assert.deepEqual(histogram([2, 2, 2], 2).counts, [0, 3]);
});
