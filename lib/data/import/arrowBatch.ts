import { DataType, type RecordBatch, type Schema } from 'apache-arrow';
import type { ColumnBatch, ColumnType } from './columnBatch';

/** What each Arrow column holds, from the schema (dictionary-encoded strings are strings). */
export function arrowTypes(schema: Schema): Map<string, ColumnType> {
  const kind = (t: DataType): ColumnType => {
    if (DataType.isDictionary(t)) return kind(t.dictionary);
    // Decimals stay 'other': their values are unscaled integer words, not numbers.
    if (DataType.isInt(t) || DataType.isFloat(t)) return 'number';
    if (DataType.isUtf8(t) || DataType.isLargeUtf8(t)) return 'string';
    if (DataType.isBool(t)) return 'bool';
    if (DataType.isBinary(t) || DataType.isLargeBinary(t) || DataType.isFixedSizeBinary(t)) {
      return 'binary';
    }
    return 'other';
  };
  return new Map(schema.fields.map((f) => [f.name, kind(f.type)]));
}

/**
 * An Arrow record batch as a ColumnBatch: a column without nulls as its values array (typed
 * array for numbers, zero-copy), one with nulls element by element so that nulls stay null.
 */
export function fromArrowBatch(
  batch: RecordBatch,
  file: string,
  firstRow: number,
  types: Map<string, ColumnType>,
): ColumnBatch {
  const names = batch.schema.fields.map((f) => f.name);
  const columns = new Map<string, ArrayLike<unknown>>();
  for (const [j, name] of names.entries()) {
    const col = batch.getChildAt(j)!;
    const plain =
      col.nullCount === 0 && (types.get(name) === 'number' || types.get(name) === 'string');
    columns.set(
      name,
      plain
        ? (col.toArray() as ArrayLike<unknown>)
        : Array.from({ length: col.length }, (_, i) => col.get(i)),
    );
  }
  return { file, firstRow, rows: batch.numRows, names, columns, types };
}
