import type { FormatReader } from './columnBatch';
import { ImportInputError } from './inputError';
import { arrowReader } from './readArrowIpc';
import { csvReader, tsvReader } from './readCsv';
import { imageFolderReader } from './readImageFolder';
import { jsonlReader } from './readJsonl';
import { parquetReader } from './readParquet';
import type { Source } from './source';

/** Every input format `tda import` reads, one reader each. */
export const FORMATS: Record<string, FormatReader> = Object.fromEntries(
  [csvReader, tsvReader, jsonlReader, parquetReader, arrowReader, imageFolderReader].map((r) => [
    r.name,
    r,
  ]),
);

/** The format named by a file's ending, if any. */
export function formatOfName(name: string): FormatReader | undefined {
  const lower = name.toLowerCase();
  let best: FormatReader | undefined;
  let bestLen = 0;
  for (const r of Object.values(FORMATS)) {
    for (const e of r.extensions) {
      if (lower.endsWith(e) && e.length > bestLen) {
        best = r;
        bestLen = e.length;
      }
    }
  }
  return best;
}

/**
 * The reader for a source: the one named, else the one its file names select. A folder is read
 * as an image folder when it holds images, else all its files must share one format.
 */
export function detectFormat(source: Source, given?: string): FormatReader {
  if (given) {
    const r = FORMATS[given];
    if (!r) {
      throw new ImportInputError(
        `unknown format "${given}"; one of ${Object.keys(FORMATS).join(', ')}`,
      );
    }
    return r;
  }
  const found = new Map<string, string>();
  for (const f of source.files) {
    const r = formatOfName(f.relative);
    if (r) found.set(r.name, f.name);
  }
  if (found.has(imageFolderReader.name)) return imageFolderReader;
  if (found.size === 1) {
    const r = FORMATS[[...found.keys()][0]];
    const stray = source.files.find((f) => formatOfName(f.relative) !== r);
    if (stray) {
      throw new ImportInputError(
        `${stray.name}: not a ${r.name} file like the others in ${source.location}; give --format or remove it`,
      );
    }
    return r;
  }
  if (found.size > 1) {
    throw new ImportInputError(
      `${source.location} mixes formats (${[...found.entries()].map(([k, v]) => `${k}: ${v}`).join('; ')}); import them separately`,
    );
  }
  throw new ImportInputError(
    `cannot tell the format of ${source.files[0]?.name ?? source.location} from its name; give --format (${Object.keys(FORMATS).join(', ')})`,
  );
}
