import { createInterface } from 'node:readline';
import type { ColumnBatch, FormatReader, ReadOptions } from './columnBatch';
import { perFile } from './columnBatch';
import { ImportInputError } from './inputError';
import { textStream } from './readCsv';
import type { SourceFile } from './source';

/**
 * JSON Lines: one JSON object per line. The first record's keys are the columns; a key missing
 * from a later record reads as a missing value (an error where that column is used).
 */
async function* readJsonlFile(file: SourceFile, opts: ReadOptions): AsyncGenerator<ColumnBatch> {
  const lines = createInterface({ input: await textStream(file), crlfDelay: Infinity });
  let names: string[] | undefined;
  let records: Record<string, unknown>[] = [];
  let firstRow = 1;
  let line = 0;
  const flush = (): ColumnBatch => {
    const columns = new Map(names!.map((n) => [n, records.map((r) => r[n])]));
    const batch = { file: file.name, firstRow, rows: records.length, names: names!, columns };
    firstRow += records.length;
    records = [];
    return batch;
  };
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (e) {
      throw new ImportInputError(`${file.name} line ${line}: not JSON: ${(e as Error).message}`);
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      throw new ImportInputError(`${file.name} line ${line}: expected a JSON object per line`);
    }
    names ??= Object.keys(rec);
    records.push(rec as Record<string, unknown>);
    if (records.length >= opts.batchRows) yield flush();
  }
  if (!names) throw new ImportInputError(`${file.name} is empty: no JSON records`);
  if (records.length > 0) yield flush();
}

export const jsonlReader: FormatReader = {
  name: 'jsonl',
  summary: 'JSON Lines, one object per line',
  extensions: ['.jsonl', '.ndjson', '.jsonl.gz', '.ndjson.gz'],
  read: perFile(readJsonlFile),
};
