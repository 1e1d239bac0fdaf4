import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type Dataset, validateDataset } from './dataset';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file of unsigned bytes (gunzipping it first when it starts with the gzip magic). */
export function parseIdx(bytes: Uint8Array, what = 'IDX file'): IdxArray {
  let raw = bytes;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch (e) {
      throw new Error(`${what}: gzip data is corrupt or truncated: ${(e as Error).message}`);
    }
  }
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) {
    throw new Error(`${what} is not an IDX file: bad magic number`);
  }
  if (raw[2] !== 0x08) {
    throw new Error(`${what}: element type 0x${raw[2].toString(16)} is not unsigned byte (0x08)`);
  }
  const ndim = raw[3];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < 4 + 4 * ndim) throw new Error(`${what} is truncated in its header`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (raw.length - start < count) {
    throw new Error(
      `${what} is truncated: dims ${JSON.stringify(dims)} need ${count} bytes of data, found ${raw.length - start}`,
    );
  }
  return { dims, data: raw.subarray(start, start + count) };
}

export interface IdxImportOptions {
  name?: string;
  classes?: string[];
  /** Keep only the first `limit` examples. */
  limit?: number;
}

/** IDX images (n × h × w [× c]) and labels (n) as an image dataset, pixels scaled to [0, 1]. */
export function importIdx(
  imagesPath: string,
  labelsPath: string,
  opts: IdxImportOptions = {},
): Dataset {
  const images = parseIdx(readFileSync(imagesPath), imagesPath);
  const labels = parseIdx(readFileSync(labelsPath), labelsPath);
  return idxToDataset(images, labels, { name: opts.name ?? imagesPath, ...opts });
}

export function idxToDataset(
  images: IdxArray,
  labels: IdxArray,
  opts: IdxImportOptions & { name: string },
): Dataset {
  if (images.dims.length < 3 || images.dims.length > 4) {
    throw new Error(
      `IDX images must have 3 or 4 dimensions (n, h, w[, c]), got ${JSON.stringify(images.dims)}`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new Error(`IDX labels must have 1 dimension, got ${JSON.stringify(labels.dims)}`);
  }
  if (images.dims[0] !== labels.dims[0]) {
    throw new Error(`IDX files disagree: ${images.dims[0]} images but ${labels.dims[0]} labels`);
  }
  const n = Math.min(images.dims[0], opts.limit ?? Number.POSITIVE_INFINITY);
  const shape = [images.dims[1], images.dims[2], images.dims[3] ?? 1];
  const d = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i] / 255;
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  let maxLabel = 0;
  for (let i = 0; i < n; i++) maxLabel = Math.max(maxLabel, labels.data[i]);
  const classes = opts.classes ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  return validateDataset({
    name: opts.name,
    kind: 'image',
    shape,
    classes,
    rows: n,
    ids,
    labels: Int32Array.from(labels.data.subarray(0, n)),
    x,
  });
}

/** Fashion-MNIST's train (60,000) or t10k (10,000) split from the Debian package's folder. */
export function importFashionMnist(
  split: 'train' | 't10k',
  opts: IdxImportOptions & { dir?: string } = {},
): Dataset {
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  return importIdx(
    join(dir, `${split}-images-idx3-ubyte.gz`),
    join(dir, `${split}-labels-idx1-ubyte.gz`),
    { name: `fashion-mnist-${split}`, classes: FASHION_MNIST_CLASSES, ...opts },
  );
}
