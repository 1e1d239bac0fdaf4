import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readDataset, writeDataset } from '../../../lib/data/dataset';
import { importCsv, parseSklearnCsv, sklearnDataDir } from '../../../lib/data/importCsv';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  importFashionMnist,
  importIdx,
  parseIdx,
} from '../../../lib/data/importIdx';
import { applyStandardizer, fitStandardizer } from '../../../lib/data/standardize';

function idxBytes(dims: number[], data: number[]): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  for (let i = 0; i < dims.length; i++) head.writeUInt32BE(dims[i], 4 + 4 * i);
  return new Uint8Array(Buffer.concat([head, Buffer.from(data)]));
}

test('IDX images and labels import as [0,1] pixels with shape [h, w, 1]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => (i * 23) % 256);
  writeFileSync(join(dir, 'img.gz'), gzipSync(idxBytes([3, 2, 2], pixels)));
  writeFileSync(join(dir, 'lab'), idxBytes([3], [2, 0, 1]));
  const ds = importIdx(join(dir, 'img.gz'), join(dir, 'lab'), { name: 'tiny' });
  assert.deepEqual(ds.shape, [2, 2, 1]);
  assert.deepEqual(ds.classes, ['0', '1', '2']);
  assert.deepEqual(Array.from(ds.labels), [2, 0, 1]);
  assert.deepEqual(Array.from(ds.ids), [0, 1, 2]);
  for (let i = 0; i < pixels.length; i++) assert.ok(Math.abs(ds.x![i] - pixels[i] / 255) < 1e-7);
  writeFileSync(join(dir, 'lab2'), idxBytes([2], [0, 1]));
  assert.throws(() => importIdx(join(dir, 'img.gz'), join(dir, 'lab2')), /3 images but 2 labels/);
  assert.throws(
    () => parseIdx(idxBytes([3, 2, 2], pixels.slice(0, 5))),
    /truncated: dims \[3,2,2\] need 12 bytes/,
  );
  assert.throws(() => parseIdx(new Uint8Array([1, 2, 3, 4, 5])), /not an IDX file/);
  assert.throws(
    () => parseIdx(gzipSync(idxBytes([1], [1])).subarray(0, 10)),
    /gzip data is corrupt or truncated/,
  );
});

test('Fashion-MNIST t10k from the Debian package', {
  skip:
    !existsSync(FASHION_MNIST_DIR) &&
    `${FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`,
}, () => {
  const ds = importFashionMnist('t10k');
  assert.equal(ds.rows, 10000);
  assert.deepEqual(ds.shape, [28, 28, 1]);
  assert.deepEqual(ds.classes, FASHION_MNIST_CLASSES);
  const counts = new Array(10).fill(0);
  for (const l of ds.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(1000), 'the test split is balanced');
  // Independent read of the raw file: images start after a 16-byte header.
  const raw = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')));
  for (const i of [0, 784 * 5000 + 400, 784 * 10000 - 1])
    assert.equal(ds.x![i], Math.fround(raw[16 + i] / 255));
  let min = 1;
  let max = 0;
  for (const v of ds.x!) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  const back = readDataset(writeDataset(importFashionMnist('t10k', { limit: 100 })));
  assert.equal(back.rows, 100);
  assert.equal(back.name, 'fashion-mnist-t10k');
});

const CSV = '4,3,neg,pos\n1.0,2,3,0\n2.0,4,3,1\n3.0,6,3,1\n6.0,8,3,0\n';

test('sklearn CSV: header gives classes, label is the last column', () => {
  const { dataset, standardizer } = parseSklearnCsv(CSV, { name: 'c' });
  assert.equal(standardizer, undefined);
  assert.deepEqual(dataset.shape, [3]);
  assert.deepEqual(dataset.classes, ['neg', 'pos']);
  assert.deepEqual(Array.from(dataset.labels), [0, 1, 1, 0]);
  assert.deepEqual(Array.from(dataset.x!), [1, 2, 3, 2, 4, 3, 3, 6, 3, 6, 8, 3]);
  const headerless = parseSklearnCsv('1,2,0\n3,4,2\n', { name: 'h' }).dataset;
  assert.deepEqual(headerless.classes, ['0', '1', '2']);
  assert.deepEqual(headerless.shape, [2]);
});

test('standardising: float64 reference mean 0 and std 1; constant feature maps to 0', () => {
  const { dataset, standardizer } = parseSklearnCsv(CSV, { name: 'c', standardize: true });
  const col = [
    [1, 2, 3, 6],
    [2, 4, 6, 8],
  ];
  for (let j = 0; j < 2; j++) {
    const m = col[j].reduce((a, b) => a + b, 0) / 4;
    const s = Math.sqrt(col[j].reduce((a, b) => a + (b - m) ** 2, 0) / 4);
    assert.ok(Math.abs(standardizer!.mean[j] - m) < 1e-12);
    assert.ok(Math.abs(standardizer!.std[j] - s) < 1e-12);
    for (let r = 0; r < 4; r++)
      assert.ok(Math.abs(dataset.x![r * 3 + j] - (col[j][r] - m) / s) < 1e-6);
  }
  for (let r = 0; r < 4; r++) assert.equal(dataset.x![r * 3 + 2], 0);
  // A standardiser fitted on one split applies to another.
  const other = parseSklearnCsv('1,3,0,1\n0,0,0,0\n', {
    name: 'o',
    classes: ['neg', 'pos'],
    standardize: standardizer,
  });
  assert.ok(
    Math.abs(other.dataset.x![0] - (1 - standardizer!.mean[0]) / standardizer!.std[0]) < 1e-6,
  );
  assert.throws(
    () => applyStandardizer(parseSklearnCsv('1,0\n', { name: 'x' }).dataset, standardizer!),
    /3 features but dataset "x" has d=1/,
  );
  assert.equal(fitStandardizer(dataset).mean.length, 3);
});

test('sklearn CSV errors name the line and the problem', () => {
  assert.throws(
    () => parseSklearnCsv('2,2,a,b\n1,2,0\n1,0\n', { name: 'c' }),
    /line 3: 2 fields, expected 2 features \+ label/,
  );
  assert.throws(
    () => parseSklearnCsv('2,2,a,b\n1,x,0\n1,2,0\n', { name: 'c' }),
    /line 2: feature 1 is "x"/,
  );
  assert.throws(
    () => parseSklearnCsv('2,2,a,b\n1,2,0\n1,2,2\n', { name: 'c' }),
    /label 2 at row 1 is out of range: 2 classes/,
  );
  assert.throws(
    () => parseSklearnCsv('3,2,a,b\n1,2,0\n1,2,1\n', { name: 'c' }),
    /declares 3 rows but the file has 2/,
  );
  assert.throws(
    () => parseSklearnCsv('2,2,a,b\n1,2,0.5\n1,2,1\n', { name: 'c' }),
    /label "0.5" is not a non-negative integer/,
  );
});

// infra/setup.sh installs these; a missing file fails the test rather than skipping it.
const SKL = sklearnDataDir();

test('breast_cancer.csv from python3-sklearn', () => {
  const { dataset } = importCsv(join(SKL, 'breast_cancer.csv'), { standardize: true });
  assert.equal(dataset.rows, 569);
  assert.deepEqual(dataset.shape, [30]);
  assert.deepEqual(dataset.classes, ['malignant', 'benign']);
  let benign = 0;
  for (const l of dataset.labels) benign += l;
  assert.equal(benign, 357);
  const back = readDataset(writeDataset(dataset));
  assert.deepEqual(Array.from(back.x!.subarray(0, 30)), Array.from(dataset.x!.subarray(0, 30)));
});
