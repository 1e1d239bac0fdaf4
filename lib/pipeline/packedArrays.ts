import { metadataOf, readColumn, readTable, writeColumns } from '../arrow/columns';

/**
 * A small JSON header and a list of float64 arrays as one Arrow file (one float64 column, the
 * arrays end to end, their lengths in the header): how curvature partials and factored curvature
 * travel between reduce steps. Float32 arrays go through float64 exactly.
 */
export interface Packed<H> {
  header: H;
  arrays: Float64Array[];
}

const KEY = 'tda.packed';

export function packArrays<H>(p: Packed<H>): Uint8Array {
  const lengths = p.arrays.map((a) => a.length);
  const values = new Float64Array(lengths.reduce((s, n) => s + n, 0));
  let o = 0;
  for (const a of p.arrays) {
    values.set(a, o);
    o += a.length;
  }
  return writeColumns(
    values.length,
    { values: { values } },
    { [KEY]: JSON.stringify({ header: p.header, lengths }) },
  );
}

export function unpackArrays<H>(bytes: Uint8Array, what: string): Packed<H> {
  const table = readTable(bytes, what);
  const raw = metadataOf(table)[KEY];
  if (!raw) throw new Error(`${what} has no "${KEY}" metadata`);
  const { header, lengths } = JSON.parse(raw) as { header: H; lengths: number[] };
  const values = readColumn<Float64Array>(table, 'values', 'float64', what).values;
  if (lengths.reduce((s, n) => s + n, 0) !== values.length) {
    throw new Error(`${what}: its arrays' lengths do not add up to its ${values.length} values`);
  }
  const arrays: Float64Array[] = [];
  let o = 0;
  for (const n of lengths) {
    // A copy: the column may be an unaligned view of the file's bytes.
    arrays.push(Float64Array.from(values.subarray(o, o + n)));
    o += n;
  }
  return { header, arrays };
}
