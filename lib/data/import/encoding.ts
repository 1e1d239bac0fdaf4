import type { DatasetKind } from '../dataset';
import { countTokens, tokenize, vocabFromCounts } from '../tokenize';
import type { ColumnBatch, ColumnType } from './columnBatch';
import { at, ImportInputError } from './inputError';

/**
 * How the columns of a user's table become a data set's rows, and the record of it saved with the
 * data set (PartitionedInfo.encoding): which column is the label (and its classes, in order),
 * which is the id, and per feature column either its standardisation (numeric) or its categories
 * (one-hot). A query set or a later batch is encoded with the same record, so column j of `x`
 * means the same thing in both.
 *
 * Over 300 lines because fitting an encoding (EncodingFitter) and checking a later table
 * against it (checkColumns, numericValue) read the same column rules, which live here once.
 */
export interface NumericFeature {
  column: string;
  type: 'numeric';
  /** (value - mean) / std; mean 0 and std 1 when standardisation is off. */
  mean: number;
  std: number;
}

export interface CategoricalFeature {
  column: string;
  type: 'categorical';
  /** One-hot position of each category; a value not listed encodes as all zeros. */
  categories: string[];
}

export type FeatureEncoding = NumericFeature | CategoricalFeature;

export interface DataEncoding {
  version: 1;
  kind: DatasetKind;
  shape: number[];
  /** The source columns every later file must have. */
  columns: string[];
  label: { column: string; classes: string[] };
  /** `integer`: the ids are whole numbers and are the data set's ids as well as its keys. */
  id?: { column: string; integer: boolean };
  features?: FeatureEncoding[];
  text?: { column: string; vocab: string[]; vocabSize: number; seqLen: number };
  image?: { column: string; height: number; width: number; channels: 1 | 3 };
}

/** What the user asked for: `--label`, `--features`, `--categorical`, `--text`, `--image`, `--id`. */
export interface ColumnMapping {
  label?: string;
  /** Column names, or every numeric column, or every column (categoricals one-hot). */
  features?: string[] | 'all' | 'all-numeric';
  /** Columns to one-hot even where their values are numbers (codes). */
  categorical?: string[];
  text?: string;
  image?: string;
  id?: string;
  /** Standardise numeric features (default true). */
  standardize?: boolean;
  vocabSize?: number;
  seqLen?: number;
  /** Image height and width; default: the first image's. */
  size?: [number, number];
  channels?: 1 | 3;
}

/** More distinct values than this in a categorical column is an error, not a one-hot of that width. */
export const MAX_CATEGORIES = 1000;
/** Rows of the first batch whose values decide whether an untyped (CSV, JSONL) column is numeric. */
export const TYPE_SAMPLE_ROWS = 1000;
/** Share of a sampled untyped column's values that must be numbers for it to be numeric. */
export const NUMERIC_SHARE = 0.9;

const isMissing = (v: unknown): boolean => v === null || v === undefined || v === '';

/** The value as a finite number, or undefined when it is not one. */
export function numberOf(v: unknown): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'string' && v.trim() !== '') n = Number(v);
  else return undefined;
  return Number.isFinite(n) ? n : undefined;
}

/** A value as the text that names it (labels, categories, ids). */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return String(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'missing (null)';
  if (v === '') return 'empty';
  const s = typeof v === 'string' ? JSON.stringify(v) : textOf(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Where each mapped column sits in the source, checked against a batch's columns. */
interface ResolvedColumns {
  label: string;
  id?: string;
  text?: string;
  image?: string;
  features: { column: string; type: 'numeric' | 'categorical' }[];
  /** Columns `--features all|all-numeric` left out, with what they hold. */
  skipped: { column: string; type: ColumnType }[];
}

function requireColumn(batch: ColumnBatch, column: string, flag: string): void {
  if (!batch.columns.has(column)) {
    throw new ImportInputError(
      `${at(batch.file)}: no column "${column}" (named by ${flag}); the file has ${batch.names.map((n) => `"${n}"`).join(', ')}`,
    );
  }
}

/**
 * A column's type: as the format declares it, else from the first batch's first values. A column
 * of numbers with a few stray words (at least NUMERIC_SHARE of its values numbers) is numeric,
 * and the words are errors naming their row; otherwise it is text (categorical).
 */
function inferType(batch: ColumnBatch, column: string): ColumnType {
  const declared = batch.types?.get(column);
  if (declared) return declared;
  const values = batch.columns.get(column)!;
  const n = Math.min(values.length, TYPE_SAMPLE_ROWS);
  let numbers = 0;
  let others = 0;
  let strings = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isMissing(v)) continue;
    if (numberOf(v) !== undefined) numbers++;
    else if (typeof v === 'string') strings++;
    else others++;
  }
  if (numbers > 0 && numbers >= NUMERIC_SHARE * (numbers + strings + others)) return 'number';
  if (numbers + strings + others === 0) return 'number';
  return others > strings ? 'other' : 'string';
}

function resolveColumns(batch: ColumnBatch, m: ColumnMapping): ResolvedColumns {
  if (!m.label) throw new ImportInputError('name the label column with --label COL');
  requireColumn(batch, m.label, '--label');
  const roles: [string | undefined, string][] = [
    [m.id, '--id'],
    [m.text, '--text'],
    [m.image, '--image'],
  ];
  for (const [c, flag] of roles) if (c) requireColumn(batch, c, flag);
  for (const c of m.categorical ?? []) requireColumn(batch, c, '--categorical');
  const taken = new Set([m.label, m.id, m.text, m.image].filter((c) => c !== undefined));
  const out: ResolvedColumns = {
    label: m.label,
    id: m.id,
    text: m.text,
    image: m.image,
    features: [],
    skipped: [],
  };
  if (m.text && m.image) throw new ImportInputError('give --text or --image, not both');
  if ((m.text || m.image) && Array.isArray(m.features)) {
    throw new ImportInputError(
      `--features cannot go with --${m.text ? 'text' : 'image'}: a data set has one input`,
    );
  }
  if (m.text || m.image) return out;
  const spec = m.features ?? 'all';
  const wanted = Array.isArray(spec) ? spec : batch.names.filter((n) => !taken.has(n));
  const forced = new Set(m.categorical ?? []);
  for (const column of wanted) {
    requireColumn(batch, column, '--features');
    if (taken.has(column)) {
      throw new ImportInputError(`column "${column}" cannot be both a feature and the label/id`);
    }
    const t = forced.has(column) ? 'string' : inferType(batch, column);
    if (t === 'number' || t === 'bool') out.features.push({ column, type: 'numeric' });
    else if (t === 'string' && spec !== 'all-numeric') {
      out.features.push({ column, type: 'categorical' });
    } else if (Array.isArray(spec)) {
      throw new ImportInputError(
        `${at(batch.file, undefined, column)} holds ${t} values; a feature is numeric or categorical (text)`,
      );
    } else out.skipped.push({ column, type: t });
  }
  if (out.features.length === 0) {
    throw new ImportInputError(
      `${at(batch.file)}: no feature columns (--features ${Array.isArray(spec) ? spec.join(',') : spec} left none)`,
    );
  }
  return out;
}

function sortClasses(values: Iterable<string>): string[] {
  const all = [...values];
  const numeric = all.every((v) => numberOf(v) !== undefined);
  return numeric
    ? all.sort((a, b) => Number(a) - Number(b))
    : all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export function isInt32(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;
}

/**
 * The first pass of an import: reads every row once to learn what the encoding needs (label
 * classes, categories, means and standard deviations in float64, the text vocabulary, the image
 * size), checking every value it will later encode, so bad input fails before anything is written.
 */
export class EncodingFitter {
  private cols: ResolvedColumns | undefined;
  private columns: string[] = [];
  private readonly classes = new Set<string>();
  private readonly stats = new Map<string, { n: number; mean: number; m2: number }>();
  private readonly categories = new Map<string, Set<string>>();
  private readonly tokenCounts = new Map<string, number>();
  private integerIds = true;
  private image: { height: number; width: number; channels: 1 | 3 } | undefined;

  constructor(
    private readonly mapping: ColumnMapping,
    private readonly decodeImageInfo?: (
      bytes: Uint8Array,
      where: string,
    ) => Promise<{ height: number; width: number; channels: 1 | 3 }>,
    private readonly imageBytes?: (
      value: unknown,
      file: string,
      where: string,
    ) => Promise<Uint8Array>,
  ) {}

  async add(batch: ColumnBatch): Promise<void> {
    if (!this.cols) {
      this.cols = resolveColumns(batch, this.mapping);
      const c = this.cols;
      this.columns = [c.label, c.id, c.text, c.image, ...c.features.map((f) => f.column)].filter(
        (x): x is string => x !== undefined,
      );
      for (const f of c.features) {
        if (f.type === 'numeric') this.stats.set(f.column, { n: 0, mean: 0, m2: 0 });
        else this.categories.set(f.column, new Set());
      }
    } else {
      for (const c of this.columns) requireColumn(batch, c, 'the first file');
    }
    const c = this.cols;
    const labels = batch.columns.get(c.label)!;
    for (let i = 0; i < batch.rows; i++) {
      const v = labels[i];
      if (isMissing(v)) {
        throw new ImportInputError(`${at(batch.file, batch.firstRow + i, c.label)}: no label`);
      }
      this.classes.add(textOf(v));
    }
    if (c.id) {
      const ids = batch.columns.get(c.id)!;
      for (let i = 0; i < batch.rows; i++) {
        if (isMissing(ids[i])) {
          throw new ImportInputError(`${at(batch.file, batch.firstRow + i, c.id)}: no id`);
        }
        if (this.integerIds && !isInt32(numberOf(ids[i]))) this.integerIds = false;
      }
    }
    for (const f of c.features) {
      const values = batch.columns.get(f.column)!;
      if (f.type === 'numeric') {
        const s = this.stats.get(f.column)!;
        for (let i = 0; i < batch.rows; i++) {
          const x = numericValue(values[i], batch, i, f.column);
          s.n++;
          const d = x - s.mean;
          s.mean += d / s.n;
          s.m2 += d * (x - s.mean);
        }
      } else {
        const set = this.categories.get(f.column)!;
        for (let i = 0; i < batch.rows; i++) {
          set.add(isMissing(values[i]) ? '' : textOf(values[i]));
          if (set.size > MAX_CATEGORIES) {
            throw new ImportInputError(
              `${at(batch.file, batch.firstRow + i, f.column)}: more than ${MAX_CATEGORIES} distinct values in a categorical column; if it is an id or free text, map it with --id or --text, or leave it out of --features`,
            );
          }
        }
      }
    }
    if (c.text) {
      const values = batch.columns.get(c.text)!;
      for (let i = 0; i < batch.rows; i++) {
        countTokens(this.tokenCounts, tokenize(isMissing(values[i]) ? '' : textOf(values[i])));
      }
    }
    if (c.image && !this.image && batch.rows > 0) {
      const where = at(batch.file, batch.firstRow, c.image);
      const bytes = await this.imageBytes!(batch.columns.get(c.image)![0], batch.file, where);
      const info = await this.decodeImageInfo!(bytes, where);
      const [h, w] = this.mapping.size ?? [info.height, info.width];
      this.image = { height: h, width: w, channels: this.mapping.channels ?? info.channels };
    }
  }

  /** Columns left out of the features (text under all-numeric, dates, binary), for the user to see. */
  get skipped(): { column: string; type: ColumnType }[] {
    return this.cols?.skipped ?? [];
  }

  finish(): DataEncoding {
    const c = this.cols;
    if (!c) throw new ImportInputError('the input has no rows');
    const classes = sortClasses(this.classes);
    const base = {
      version: 1 as const,
      columns: this.columns,
      label: { column: c.label, classes },
      ...(c.id ? { id: { column: c.id, integer: this.integerIds } } : {}),
    };
    if (c.text) {
      const vocabSize = this.mapping.vocabSize ?? 5000;
      const seqLen = this.mapping.seqLen ?? 128;
      return {
        ...base,
        kind: 'text',
        shape: [seqLen],
        text: {
          column: c.text,
          vocab: vocabFromCounts(this.tokenCounts, vocabSize),
          vocabSize,
          seqLen,
        },
      };
    }
    if (c.image) {
      const im = this.image!;
      return {
        ...base,
        kind: 'image',
        shape: [im.height, im.width, im.channels],
        image: { column: c.image, ...im },
      };
    }
    const standardize = this.mapping.standardize ?? true;
    const features: FeatureEncoding[] = c.features.map((f) => {
      if (f.type === 'categorical') {
        return {
          column: f.column,
          type: 'categorical',
          categories: sortClasses(this.categories.get(f.column)!),
        };
      }
      const s = this.stats.get(f.column)!;
      const std = Math.sqrt(s.m2 / Math.max(1, s.n));
      return standardize
        ? { column: f.column, type: 'numeric', mean: s.mean, std: std > 0 ? std : 1 }
        : { column: f.column, type: 'numeric', mean: 0, std: 1 };
    });
    return { ...base, kind: 'tabular', shape: [featureWidth(features)], features };
  }
}

export function featureWidth(features: FeatureEncoding[]): number {
  return features.reduce((s, f) => s + (f.type === 'numeric' ? 1 : f.categories.length), 0);
}

/** A numeric column's value, or an error naming file, row and column. */
export function numericValue(v: unknown, batch: ColumnBatch, i: number, column: string): number {
  const x = numberOf(v);
  if (x === undefined) {
    throw new ImportInputError(
      `${at(batch.file, batch.firstRow + i, column)}: ${describe(v)} is not a number (the column is numeric; name it in --categorical to one-hot it instead)`,
    );
  }
  return x;
}

/** Checks that a batch has every column the encoding reads (a later batch, a query set). */
export function checkColumns(enc: DataEncoding, batch: ColumnBatch): void {
  const missing = enc.columns.filter((c) => !batch.columns.has(c));
  if (missing.length > 0) {
    throw new ImportInputError(
      `${batch.file} does not match the data set's schema: it lacks column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} (it has ${batch.names.map((n) => `"${n}"`).join(', ')})`,
    );
  }
  const types = batch.types;
  for (const f of enc.features ?? []) {
    const t = types?.get(f.column);
    if (f.type === 'numeric' && t !== undefined && t !== 'number' && t !== 'bool') {
      throw new ImportInputError(
        `${batch.file} does not match the data set's schema: column "${f.column}" holds ${t} values, the data set's is numeric`,
      );
    }
  }
}
