import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type Dataset, validateDataset } from './dataset';
import { applyStandardizer, fitStandardizer, type Standardizer } from './standardize';

export interface CsvImportOptions {
  name?: string;
  /** Class names for a file without the sklearn header line. */
  classes?: string[];
  /** true: fit on this file; a Standardizer: apply one fitted elsewhere (e.g. on the train split). */
  standardize?: boolean | Standardizer;
}

/**
 * The CSV format of sklearn's bundled datasets (breast_cancer.csv, iris.csv, wine_data.csv,
 * digits.csv.gz): a header line `n,nfeatures,classname...`, then one row per example with the
 * integer label in the last column. Files ending in .gz are gunzipped. A file without the header
 * line (digits.csv.gz) needs no options; class names default to the label values.
 */
/**
 * Where infra/setup.sh puts scikit-learn's bundled CSVs (extracted from Debian's python3-sklearn):
 * $TDA_SKLEARN_DATA, else $TDA_DATA_DIR/sklearn, else the project's .data/sklearn.
 */
export function sklearnDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TDA_SKLEARN_DATA) return env.TDA_SKLEARN_DATA;
  const data = env.TDA_DATA_DIR ?? fileURLToPath(new URL('../../.data', import.meta.url));
  return join(data, 'sklearn');
}

export function importCsv(
  path: string,
  opts: CsvImportOptions = {},
): { dataset: Dataset; standardizer?: Standardizer } {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return parseSklearnCsv(new TextDecoder().decode(bytes), { name: path, ...opts });
}

export function parseSklearnCsv(
  text: string,
  opts: CsvImportOptions & { name: string },
): { dataset: Dataset; standardizer?: Standardizer } {
  const what = `CSV "${opts.name}"`;
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error(`${what} is empty`);
  const first = lines[0].split(',').map((s) => s.trim());
  const numeric = (s: string): boolean => s !== '' && Number.isFinite(Number(s));
  // The header is `n,nfeatures,names...`: its field count differs from a data row's, or it has names.
  const hasHeader =
    lines.length > 1 &&
    numeric(first[0]) &&
    numeric(first[1]) &&
    (first.length !== lines[1].split(',').length || first.slice(2).some((s) => !numeric(s)));
  let nDeclared: number | undefined;
  let nFeatures: number;
  let classes = opts.classes;
  const body = hasHeader ? lines.slice(1) : lines;
  if (hasHeader) {
    nDeclared = Number(first[0]);
    nFeatures = Number(first[1]);
    if (!Number.isInteger(nFeatures) || nFeatures <= 0) {
      throw new Error(`${what}: header declares ${first[1]} features`);
    }
    if (first.length > 2) classes ??= first.slice(2);
  } else {
    nFeatures = first.length - 1;
  }
  if (nDeclared !== undefined && nDeclared !== body.length) {
    throw new Error(`${what}: header declares ${nDeclared} rows but the file has ${body.length}`);
  }
  const n = body.length;
  const x = new Float32Array(n * nFeatures);
  const labels = new Int32Array(n);
  let maxLabel = 0;
  for (let r = 0; r < n; r++) {
    const f = body[r].split(',');
    const line = r + (hasHeader ? 2 : 1);
    if (f.length !== nFeatures + 1) {
      throw new Error(
        `${what} line ${line}: ${f.length} fields, expected ${nFeatures} features + label`,
      );
    }
    for (let j = 0; j < nFeatures; j++) {
      const v = Number(f[j]);
      if (f[j].trim() === '' || !Number.isFinite(v)) {
        throw new Error(`${what} line ${line}: feature ${j} is "${f[j]}", not a finite number`);
      }
      x[r * nFeatures + j] = v;
    }
    const y = Number(f[nFeatures]);
    if (!Number.isInteger(y) || y < 0) {
      throw new Error(
        `${what} line ${line}: label "${f[nFeatures]}" is not a non-negative integer`,
      );
    }
    labels[r] = y;
    maxLabel = Math.max(maxLabel, y);
  }
  classes ??= Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  let dataset: Dataset = validateDataset({
    name: opts.name,
    kind: 'tabular',
    shape: [nFeatures],
    classes,
    rows: n,
    ids,
    labels,
    x,
  });
  let standardizer: Standardizer | undefined;
  if (opts.standardize) {
    standardizer = opts.standardize === true ? fitStandardizer(dataset) : opts.standardize;
    dataset = applyStandardizer(dataset, standardizer);
  }
  return { dataset, standardizer };
}
