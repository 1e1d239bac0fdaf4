import { type Dataset, exampleSize } from '../dataset';
import { cleanText, encodeTokens, tokenize, vocabIndex } from '../tokenize';
import type { ColumnBatch } from './columnBatch';
import { decodeImage, imageBytesOf } from './decodeImage';
import {
  checkColumns,
  type DataEncoding,
  isInt32,
  numberOf,
  numericValue,
  textOf,
} from './encoding';
import { at, ImportInputError } from './inputError';

const SNIPPET_CHARS = 200;

/**
 * The second pass of an import: each batch of source rows to data set rows by a fixed encoding
 * (its own, just fitted, or a saved one for a query set or a later batch). Ids are the user's
 * integers when the id column holds them, else running row numbers; the id's text is kept as
 * the row's key either way.
 */
export class RowEncoder {
  private readonly classIndex: Map<string, number>;
  private readonly categoryIndex: Map<string, Map<string, number>>;
  private readonly vocab?: Map<string, number>;
  private readonly d: number;
  /** Per categorical column, how many values were not among the saved categories (all-zero rows). */
  readonly unseen = new Map<string, number>();

  constructor(
    readonly encoding: DataEncoding,
    readonly name: string,
  ) {
    this.classIndex = new Map(encoding.label.classes.map((c, i) => [c, i]));
    this.categoryIndex = new Map(
      (encoding.features ?? []).flatMap((f) =>
        f.type === 'categorical' ? [[f.column, new Map(f.categories.map((c, i) => [c, i]))]] : [],
      ),
    );
    if (encoding.text) this.vocab = vocabIndex(encoding.text.vocab);
    this.d = exampleSize(encoding.shape);
  }

  /** Encodes a batch; `firstIndex` is the data set row number of its first row. */
  async encode(batch: ColumnBatch, firstIndex: number): Promise<Dataset> {
    const enc = this.encoding;
    checkColumns(enc, batch);
    const n = batch.rows;
    const d = this.d;
    const labels = new Int32Array(n);
    const labelValues = batch.columns.get(enc.label.column)!;
    for (let i = 0; i < n; i++) {
      const v = labelValues[i];
      const k =
        v === null || v === undefined || v === '' ? undefined : this.classIndex.get(textOf(v));
      if (k === undefined) {
        throw new ImportInputError(
          `${at(batch.file, batch.firstRow + i, enc.label.column)}: label ${v === '' || v == null ? 'missing' : JSON.stringify(textOf(v))} is not one of the data set's classes (${enc.label.classes.join(', ')})`,
        );
      }
      labels[i] = k;
    }
    const ids = new Int32Array(n);
    let keys: string[] | undefined;
    if (enc.id) {
      const values = batch.columns.get(enc.id.column)!;
      keys = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || v === undefined || v === '') {
          throw new ImportInputError(`${at(batch.file, batch.firstRow + i, enc.id.column)}: no id`);
        }
        keys[i] = textOf(v);
        if (enc.id.integer) {
          const x = numberOf(v);
          if (!isInt32(x)) {
            throw new ImportInputError(
              `${at(batch.file, batch.firstRow + i, enc.id.column)}: id ${JSON.stringify(keys[i])} is not a whole number, as the data set's ids are`,
            );
          }
          ids[i] = x;
        } else ids[i] = firstIndex + i;
      }
    } else for (let i = 0; i < n; i++) ids[i] = firstIndex + i;

    const ds: Dataset = {
      name: this.name,
      kind: enc.kind,
      shape: enc.shape,
      classes: enc.label.classes,
      rows: n,
      ids,
      labels,
    };
    if (keys) ds.keys = keys;
    if (enc.features) ds.x = this.features(batch);
    if (enc.text) {
      const t = enc.text;
      const values = batch.columns.get(t.column)!;
      ds.vocabSize = t.vocabSize;
      const tokens = new Int32Array(n * d);
      ds.tokens = tokens;
      ds.text = new Array(n);
      for (let i = 0; i < n; i++) {
        const raw = values[i] === null || values[i] === undefined ? '' : textOf(values[i]);
        encodeTokens(tokenize(raw), this.vocab!, d, tokens.subarray(i * d, (i + 1) * d));
        ds.text[i] = cleanText(raw).replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
      }
    }
    if (enc.image) {
      const im = enc.image;
      const values = batch.columns.get(im.column)!;
      ds.x = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        const where = at(batch.file, batch.firstRow + i, im.column);
        const bytes = await imageBytesOf(values[i], batch.file, where);
        await decodeImage(bytes, im, ds.x.subarray(i * d, (i + 1) * d), where);
      }
    }
    // writeDataset validates each part as it is written.
    return ds;
  }

  private features(batch: ColumnBatch): Float32Array {
    const n = batch.rows;
    const d = this.d;
    const x = new Float32Array(n * d);
    let j0 = 0;
    for (const f of this.encoding.features!) {
      const values = batch.columns.get(f.column)!;
      if (f.type === 'numeric') {
        for (let i = 0; i < n; i++) {
          x[i * d + j0] = (numericValue(values[i], batch, i, f.column) - f.mean) / f.std;
        }
        j0 += 1;
      } else {
        const index = this.categoryIndex.get(f.column)!;
        for (let i = 0; i < n; i++) {
          const v = values[i];
          const k = index.get(v === null || v === undefined || v === '' ? '' : textOf(v));
          if (k === undefined) this.unseen.set(f.column, (this.unseen.get(f.column) ?? 0) + 1);
          else x[i * d + j0 + k] = 1;
        }
        j0 += f.categories.length;
      }
    }
    return x;
  }
}
