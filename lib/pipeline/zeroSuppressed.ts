/**
 * Rows of float32 values without their zeros: per row a bitmask of the columns whose value is
 * not +0 (compared as bits, so -0 and NaN are kept as they are) and those values in column
 * order. Exact factors behind ReLU layers are often zeros (a hidden layer's input a and its
 * output gradient δ are both zero wherever the unit was off), so a feature file stores them
 * this way when that makes it smaller. The engine writes +0 for -0 (projectBlocks), so in
 * bench:main's MLP the zeros dropped went from 45–49% of the stored numbers to 57–64% (its
 * feature bytes from 323 to 245 MB).
 */
export interface ZeroSuppressed {
  /** Bits per row, 32 to a word, low bit first: bit j set when stored column j is kept. */
  mask: Int32Array;
  words: number;
  /** The stored values of every row, row after row. */
  values: Float32Array;
  /** Row i's values are values[offsets[i] .. offsets[i + 1]). */
  offsets: Int32Array;
}

export const maskWords = (width: number) => Math.ceil(width / 32);

/** The fraction of +0 bits among columns [from, width) of `data`'s rows. */
export function zeroFraction(data: Float32Array, width: number, from = 0): number {
  const rows = width > 0 ? data.length / width : 0;
  if (rows === 0 || from >= width) return 0;
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let z = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = i * width + from; j < (i + 1) * width; j++) z += +(bits[j] === 0);
  }
  return z / (rows * (width - from));
}

/**
 * Whether a file's stored columns are zero-suppressed: when at least a quarter are zeros (the
 * mask costs 1/32 of the values' bytes; below that the scatter on every read is not worth it).
 */
export const SPARSE_FROM = 0.25;

/**
 * Where suppressZeros writes every value, the kept ones first: one per process (shared by every
 * activity slot in it), grown as needed; the kept values are copied out of it, or handed out as a
 * view of it (`transient`). A fresh one per call (a file chunk's whole width) was, with the copy,
 * most of a featurize's short-lived ArrayBuffers, and V8 starts a full collection per 64 MiB of
 * them.
 */
let scratch = new Int32Array(0);
/** A larger scratch is let go after its call rather than held for the process's life. */
const SCRATCH_KEPT = 64 * 2 ** 20;

/**
 * Rows of `width` values without their zeros; columns [from, width) only (a file's stored ones).
 * With `transient`, `values` may be a view of this module's scratch, which the next call
 * overwrites: for a caller that encodes them before it calls again (writeFeatureFile, whose
 * encoder copies them into the file; their own copy was a sixth of a bench:main shard's
 * short-lived ArrayBuffers).
 */
export function suppressZeros(
  data: Float32Array,
  rows: number,
  width: number,
  from = 0,
  transient = false,
): ZeroSuppressed {
  if (data.length !== rows * width) {
    throw new Error(`${data.length} values are not ${rows} rows of ${width}`);
  }
  if (!(from >= 0 && from <= width)) throw new Error(`column ${from} is outside ${width} columns`);
  const stored = width - from;
  const words = maskWords(stored);
  const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
  const mask = new Int32Array(rows * words);
  const offsets = new Int32Array(rows + 1);
  // Branch-free: every value is written and the cursor moves past the kept ones (a ReLU's zeros
  // are as unpredictable as coin flips); one spare slot takes the last row's last write. Four
  // values an iteration in whole words of 32: 1.4 times faster than one (a scratch timing; this
  // was 9% of a worker's CPU in bench:main's shard step, `perf record`).
  if (scratch.length < rows * stored + 1) scratch = new Int32Array(rows * stored + 1);
  const out = scratch;
  const full = stored >> 5;
  const tail = stored & 31;
  let o = 0;
  for (let i = 0; i < rows; i++) {
    let r = i * width + from;
    let mw = i * words;
    for (let w = 0; w < full; w++, r += 32) {
      let m = 0;
      for (let j = 0; j < 32; j += 4) {
        const b0 = bits[r + j];
        const b1 = bits[r + j + 1];
        const b2 = bits[r + j + 2];
        const b3 = bits[r + j + 3];
        const k0 = +(b0 !== 0);
        const k1 = +(b1 !== 0);
        const k2 = +(b2 !== 0);
        const k3 = +(b3 !== 0);
        out[o] = b0;
        o += k0;
        out[o] = b1;
        o += k1;
        out[o] = b2;
        o += k2;
        out[o] = b3;
        o += k3;
        m |= (k0 | (k1 << 1) | (k2 << 2) | (k3 << 3)) << j;
      }
      mask[mw++] = m;
    }
    if (tail > 0) {
      let m = 0;
      for (let j = 0; j < tail; j++) {
        const b = bits[r + j];
        const keep = +(b !== 0);
        out[o] = b;
        o += keep;
        m |= keep << j;
      }
      mask[mw] = m;
    }
    offsets[i + 1] = o;
  }
  const kept = new Float32Array(out.buffer, 0, o);
  const values = transient ? kept : kept.slice();
  // A larger scratch is dropped here (a transient view keeps it alive only while it is used).
  if (scratch.byteLength > SCRATCH_KEPT) scratch = new Int32Array(0);
  return { mask, words, values, offsets };
}

/** The rows again, zeros in place; checks the mask and the counts agree (`what` names the file). */
export function restoreZeros(
  z: ZeroSuppressed,
  rows: number,
  width: number,
  what: string,
): Float32Array {
  if (z.words !== maskWords(width) || z.mask.length !== rows * z.words) {
    throw new Error(`${what}: its zero mask is not ${rows} rows of ${width} columns`);
  }
  if (z.offsets.length !== rows + 1 || z.offsets[0] !== 0 || z.offsets[rows] !== z.values.length) {
    throw new Error(`${what}: its stored values do not match its ${rows} rows`);
  }
  const out = new Uint32Array(rows * width);
  // One spare slot: a row's last zero reads one past its values (and is masked to 0).
  const vals = new Uint32Array(z.values.length + 1);
  vals.set(new Uint32Array(z.values.buffer, z.values.byteOffset, z.values.length));
  const tail = width - (z.words - 1) * 32;
  for (let i = 0; i < rows; i++) {
    let o = z.offsets[i];
    const r = i * width;
    for (let w = 0; w < z.words; w++) {
      const m = z.mask[i * z.words + w];
      const n = w === z.words - 1 ? tail : 32;
      if (n < 32 && m >>> n !== 0) {
        throw new Error(`${what}: row ${i}'s zero mask and stored values disagree`);
      }
      const j0 = r + w * 32;
      for (let j = 0; j < n; j++) {
        const keep = (m >>> j) & 1;
        out[j0 + j] = vals[o] & -keep;
        o += keep;
      }
    }
    if (o !== z.offsets[i + 1]) {
      throw new Error(`${what}: row ${i}'s zero mask and stored values disagree`);
    }
  }
  return new Float32Array(out.buffer);
}
