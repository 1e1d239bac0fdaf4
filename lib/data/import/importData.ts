import type { Config } from '../../config';
import type { ObjectStore } from '../../store/objectStore';
import { type PartitionedInfo, PartitionedWriter } from '../partitionedDataset';
import type { ColumnBatch, FormatReader } from './columnBatch';
import { imageBytesOf, imageInfo } from './decodeImage';
import { RowEncoder } from './encodeRows';
import { type ColumnMapping, type DataEncoding, EncodingFitter } from './encoding';
import { detectFormat } from './formats';
import { ImportInputError } from './inputError';
import { openSource, type Source } from './source';

export interface ImportOptions extends ColumnMapping {
  /** A format name (FORMATS); default: from the file names. */
  format?: string;
  /** The data set's name (default: the location). */
  name?: string;
  /** Encode with this saved encoding (a query set, a later batch) instead of fitting one. */
  like?: DataEncoding;
  rowsPerPart?: number;
  /** Source rows per batch in memory (default 4096). */
  batchRows?: number;
  /** Import only the first `limit` rows. */
  limit?: number;
}

export interface ImportResult {
  info: PartitionedInfo;
  encoding: DataEncoding;
  format: string;
  files: number;
  /** Values of categorical columns that the saved categories lack (encoded as all zeros). */
  unseen: Record<string, number>;
  /** Columns not used as features (by `--features all|all-numeric`), with their type. */
  skipped: { column: string; type: string }[];
}

/** The source's batches, cut at `limit` rows in all. */
async function* batchesOf(
  reader: FormatReader,
  source: Source,
  batchRows: number,
  limit = Number.POSITIVE_INFINITY,
): AsyncGenerator<ColumnBatch> {
  let left = limit;
  for await (const b of reader.read(source.files, { batchRows })) {
    if (left <= 0) return;
    if (b.rows > left) {
      const columns = new Map([...b.columns].map(([k, v]) => [k, Array.from(v).slice(0, left)]));
      yield { ...b, rows: left, columns };
      return;
    }
    left -= b.rows;
    yield b;
  }
}

/**
 * `tda import FILE|DIR|s3://...`: a table or image folder, streamed, to a partitioned Arrow data
 * set at `prefix`. Two passes over the source: the first fits the encoding (and checks every
 * value), the second encodes and writes one part at a time, so memory does not grow with the
 * number of rows. With `like`, one pass with the saved encoding. The manifest is written last,
 * with the encoding in it: a failure anywhere leaves nothing committed.
 */
export async function importData(
  location: string,
  store: ObjectStore,
  prefix: string,
  opts: ImportOptions,
  config?: Config,
): Promise<ImportResult> {
  const source = await openSource(location, config);
  return importSource(source, store, prefix, opts);
}

export async function importSource(
  source: Source,
  store: ObjectStore,
  prefix: string,
  opts: ImportOptions,
): Promise<ImportResult> {
  const reader = detectFormat(source, opts.format);
  const mapping: ImportOptions =
    reader.name === 'images' ? { label: 'label', image: 'image', id: 'path', ...opts } : opts;
  const batchRows = opts.batchRows ?? 4096;
  let encoding = opts.like;
  let skipped: ImportResult['skipped'] = [];
  if (!encoding) {
    const fitter = new EncodingFitter(mapping, imageInfo, imageBytesOf);
    for await (const b of batchesOf(reader, source, batchRows, opts.limit)) await fitter.add(b);
    encoding = fitter.finish();
    skipped = fitter.skipped;
  }
  const encoder = new RowEncoder(encoding, opts.name ?? source.location);
  const writer = new PartitionedWriter(store, prefix, opts.rowsPerPart ?? 10_000);
  try {
    let rows = 0;
    for await (const b of batchesOf(reader, source, batchRows, opts.limit)) {
      await writer.add(await encoder.encode(b, rows));
      rows += b.rows;
    }
    if (rows === 0) throw new ImportInputError(`${source.location}: no rows`);
    const info = await writer.commit(encoding);
    return {
      info,
      encoding,
      format: reader.name,
      files: source.files.length,
      unseen: Object.fromEntries(encoder.unseen),
      skipped,
    };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
