import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import type { ColumnBatch, FormatReader, ReadOptions } from './columnBatch';
import { perFile } from './columnBatch';
import { ImportInputError } from './inputError';
import type { SourceFile } from './source';

/** The stream, gunzipped when the file name ends in .gz. */
export async function textStream(file: SourceFile): Promise<Readable> {
  const raw = await file.stream();
  return file.name.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

/**
 * CSV or TSV with a header row, parsed by csv-parse as a stream (quoted fields, embedded
 * delimiters and newlines, a BOM): the header names the columns, every value stays a string.
 */
function delimited(delimiter: string) {
  return async function* read(file: SourceFile, opts: ReadOptions): AsyncGenerator<ColumnBatch> {
    const parser = (await textStream(file)).pipe(
      parse({
        delimiter,
        bom: true,
        skip_empty_lines: true,
        trim: true,
        // TSV has no quoting convention; a stray quote is a character.
        quote: delimiter === '\t' ? false : '"',
      }),
    );
    let names: string[] | undefined;
    let cols: string[][] = [];
    let rows = 0;
    let firstRow = 1;
    const flush = (): ColumnBatch => {
      const batch: ColumnBatch = {
        file: file.name,
        firstRow,
        rows,
        names: names!,
        columns: new Map(names!.map((n, j) => [n, cols[j]])),
      };
      firstRow += rows;
      rows = 0;
      cols = names!.map(() => []);
      return batch;
    };
    try {
      for await (const record of parser as AsyncIterable<string[]>) {
        if (!names) {
          names = record;
          const seen = new Set<string>();
          for (const [j, n] of names.entries()) {
            if (n === '')
              throw new ImportInputError(`${file.name}: header column ${j + 1} has no name`);
            if (seen.has(n))
              throw new ImportInputError(`${file.name}: header names column "${n}" twice`);
            seen.add(n);
          }
          cols = names.map(() => []);
          continue;
        }
        for (let j = 0; j < names.length; j++) cols[j].push(record[j]);
        if (++rows >= opts.batchRows) yield flush();
      }
    } catch (e) {
      if (e instanceof ImportInputError) throw e;
      // csv-parse names the line (e.g. "Invalid Record Length: expect 5, got 4 on line 7").
      throw new ImportInputError(`${file.name}: ${(e as Error).message}`);
    }
    if (!names) throw new ImportInputError(`${file.name} is empty: no header row`);
    if (firstRow === 1 && rows === 0) {
      throw new ImportInputError(`${file.name} has a header but no data rows`);
    }
    if (rows > 0) yield flush();
  };
}

export const csvReader: FormatReader = {
  name: 'csv',
  summary: 'comma-separated values with a header row (csv-parse)',
  extensions: ['.csv', '.csv.gz'],
  read: perFile(delimited(',')),
};

export const tsvReader: FormatReader = {
  name: 'tsv',
  summary: 'tab-separated values with a header row',
  extensions: ['.tsv', '.tsv.gz', '.tab'],
  read: perFile(delimited('\t')),
};
