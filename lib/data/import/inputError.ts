/**
 * Bad input data (a missing column, a value that is not a number, an empty or truncated file):
 * named 'InputError' so that Temporal fails the activity at once instead of retrying it.
 */
export class ImportInputError extends Error {
  override name = 'InputError';
}

/** Where in the input a value came from, for error messages: file, 1-based data row, column. */
export function at(file: string, row?: number, column?: string): string {
  let s = file;
  if (row !== undefined) s += ` row ${row}`;
  if (column !== undefined) s += ` column "${column}"`;
  return s;
}
