import type { Dataset } from '../data/dataset';
import type { GradientMatrix } from '../features';

/**
 * A feature file's first layer's inputs by reference. With exact factors, a first Dense layer
 * that reads the model's input stores a₁ = [x, 1] per example: 785 of the 1,565 numbers of a
 * 784-256-128-10 MLP, the same at every checkpoint, and already in the data set's input part.
 * Featurize then leaves those columns out of the file and readers put them back from the part,
 * bit for bit. Whether a file may do so is decided from the values themselves (every row's
 * stored a₁ equals its input row and a 1, compared as bits), not from the layer graph: no
 * layer type can make it wrong, and a file that does not qualify is written whole.
 */

/** The input rows of a file's examples: the data set's part, rows [start, end). */
export interface InputRows {
  ds: Dataset;
  start: number;
  end: number;
}

/**
 * How many leading columns of `grads` are each row's input followed by a 1 (x then the bias's
 * 1), or 0 when the first layer's stored factors are not exactly that for every row.
 */
export function inputColumnsOf(grads: GradientMatrix, input: InputRows): number {
  const first = grads.layers[0];
  const x = input.ds.x;
  if (!first?.factors || first.offset !== 0 || first.factors.positions !== 1 || !x) return 0;
  const d = x.length / input.ds.rows;
  const n = input.end - input.start;
  if (first.factors.inDim !== d + 1 || grads.rows !== n) return 0;
  return matches(grads, input, d + 1) ? d + 1 : 0;
}

/**
 * Every row's first `cols` columns are its input row, then 1: compared as bits (-0, NaN), each
 * row's inputs by memcmp (Buffer.compare). A loop over 32-bit words was 4% of a worker's CPU in
 * bench:main's shard step (`perf record`), as it runs on every chunk of every checkpoint.
 */
function matches(grads: GradientMatrix, input: InputRows, cols: number): boolean {
  const d = cols - 1;
  const x = input.ds.x as Float32Array;
  const g = Buffer.from(grads.data.buffer, grads.data.byteOffset, grads.data.byteLength);
  const g32 = new Uint32Array(grads.data.buffer, grads.data.byteOffset, grads.data.length);
  const xb = Buffer.from(x.buffer, x.byteOffset + input.start * d * 4, grads.rows * d * 4);
  const one = new Uint32Array(Float32Array.of(1).buffer)[0];
  for (let i = 0; i < grads.rows; i++) {
    const o = i * grads.dim;
    if (g32[o + d] !== one) return false;
    if (g.compare(xb, i * d * 4, (i + 1) * d * 4, o * 4, (o + d) * 4) !== 0) return false;
  }
  return true;
}

/**
 * A later chunk of a file that stores its inputs by reference: its rows must qualify too, or the
 * file would be wrong; the layer graph makes this impossible, so it is a failure, never a guess.
 */
export function checkInputColumns(
  grads: GradientMatrix,
  input: InputRows,
  cols: number,
  what: string,
): void {
  if (inputColumnsOf(grads, input) !== cols) {
    throw new Error(
      `${what}: rows ${input.start}..${input.end - 1} do not store their inputs as the first rows did (the first ${cols} columns); cannot write the file by reference`,
    );
  }
}

/** The rows without their first `cols` columns (what the file stores). */
export function dropInputColumns(grads: GradientMatrix, cols: number): Float32Array {
  const w = grads.dim - cols;
  const out = new Float32Array(grads.rows * w);
  for (let i = 0; i < grads.rows; i++) {
    out.set(grads.data.subarray(i * grads.dim + cols, (i + 1) * grads.dim), i * w);
  }
  return out;
}

/**
 * The full rows again: each row's input, a 1, then the stored columns. `ids` are the file's
 * example ids, checked against the part's so a file is never completed from the wrong rows.
 */
export function restoreInputColumns(
  stored: Float32Array,
  width: number,
  cols: number,
  ids: Int32Array,
  input: InputRows,
  what: string,
): Float32Array {
  const { ds, start, end } = input;
  const rows = end - start;
  const x = ds.x;
  const d = cols - 1;
  if (!x || x.length !== ds.rows * d) {
    throw new Error(
      `${what} stores its first ${cols} columns by reference to ${d}-wide input rows, but data set "${ds.name}" has ${x ? `${x.length / ds.rows}-wide rows` : 'no feature rows'}`,
    );
  }
  if (ids.length !== rows || stored.length !== rows * width) {
    throw new Error(`${what} has ${ids.length} rows where its input part has ${rows}`);
  }
  for (let i = 0; i < rows; i++) {
    if (ids[i] !== ds.ids[start + i]) {
      throw new Error(
        `${what}: row ${i} is example id ${ids[i]}, but its input part's row ${start + i} is id ${ds.ids[start + i]}`,
      );
    }
  }
  const dim = width + cols;
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    const o = i * dim;
    out.set(x.subarray((start + i) * d, (start + i + 1) * d), o);
    out[o + d] = 1;
    out.set(stored.subarray(i * width, (i + 1) * width), o + cols);
  }
  return out;
}
