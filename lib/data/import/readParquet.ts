import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tableFromIPC } from 'apache-arrow';
import type { ParquetFile } from 'parquet-wasm';
import { arrowTypes, fromArrowBatch } from './arrowBatch';
import type { ColumnBatch, FormatReader, ReadOptions } from './columnBatch';
import { perFile } from './columnBatch';
import { ImportInputError } from './inputError';
import type { SourceFile } from './source';

/**
 * Parquet through parquet-wasm (the Rust `parquet` crate): the file is opened as a lazily read
 * Blob, so only the footer and the row groups being decoded are in memory; each record batch
 * comes out as Arrow IPC and is read by apache-arrow.
 */
async function* readParquetFile(file: SourceFile, opts: ReadOptions): AsyncGenerator<ColumnBatch> {
  const { path, release } = await file.localPath();
  try {
    if ((await stat(path)).size === 0) throw new ImportInputError(`${file.name} is empty`);
    let pq: ParquetFile;
    try {
      // Loaded on first use: the WebAssembly module is large, and workers that never read
      // Parquet should not carry it.
      const { ParquetFile: File } = await import('parquet-wasm');
      pq = await File.fromFile(await openAsBlob(path));
    } catch (e) {
      throw new ImportInputError(
        `${file.name} is not a readable Parquet file (truncated or corrupt?): ${String(e)}`,
      );
    }
    let row = 1;
    try {
      const stream = await pq.stream({ batchSize: opts.batchRows });
      for await (const wasmBatch of stream as unknown as AsyncIterable<{
        intoIPCStream(): Uint8Array;
      }>) {
        const table = tableFromIPC(wasmBatch.intoIPCStream());
        const types = arrowTypes(table.schema);
        for (const batch of table.batches) {
          yield fromArrowBatch(batch, file.name, row, types);
          row += batch.numRows;
        }
      }
    } catch (e) {
      if (e instanceof ImportInputError) throw e;
      throw new ImportInputError(
        `${file.name}: Parquet data is truncated or corrupt after row ${row - 1}: ${String(e)}`,
      );
    } finally {
      pq.free();
    }
    if (row === 1) throw new ImportInputError(`${file.name} has no rows`);
  } finally {
    await release();
  }
}

export const parquetReader: FormatReader = {
  name: 'parquet',
  summary: 'Apache Parquet (parquet-wasm, read into Arrow)',
  extensions: ['.parquet', '.pq'],
  read: perFile(readParquetFile),
};
