import type { SourceFile } from './source';

/** What a format declares a column holds; undefined where the format has no types (CSV, JSONL). */
export type ColumnType = 'number' | 'string' | 'bool' | 'binary' | 'other';

/**
 * Rows of one input file as columns: every reader yields these, whatever the format, so that
 * column mapping and encoding are written once. Values are what the format holds: strings (CSV),
 * JSON values (JSONL), numbers, bigints, strings, null (Arrow, Parquet), bytes (images).
 */
export interface ColumnBatch {
  /** The file the rows come from, as the user named it. */
  file: string;
  /** 1-based row number (in that file, header not counted) of the batch's first row. */
  firstRow: number;
  rows: number;
  /** The file's columns, in its order. */
  names: string[];
  columns: Map<string, ArrayLike<unknown>>;
  types?: Map<string, ColumnType>;
}

export interface ReadOptions {
  /** Rows per batch (a reader may yield fewer). */
  batchRows: number;
}

export interface FormatReader {
  name: string;
  summary: string;
  /** File name endings that select this reader, lower case, e.g. '.csv', '.csv.gz'. */
  extensions: string[];
  /** Reads every file in order; a folder of Parquet files is one table. */
  read(files: SourceFile[], opts: ReadOptions): AsyncGenerator<ColumnBatch>;
}

/** A reader of one file at a time, applied to each file in turn. */
export function perFile(
  read: (file: SourceFile, opts: ReadOptions) => AsyncGenerator<ColumnBatch>,
): FormatReader['read'] {
  return async function* (files, opts) {
    for (const f of files) yield* read(f, opts);
  };
}
