/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
 * counter-based generator. The output for a counter is a pure function of (counter, key), so the
 * random numbers for step t of a run can be computed without replaying steps 0..t−1, and two runs
 * with the same seed draw identical numbers whatever else differs between them.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High and low 32 bits of the 64-bit product of two uint32 values. */
function mulhilo(a: number, b: number, out: Uint32Array, hiIdx: number, loIdx: number): void {
  const lo = Math.imul(a, b) >>> 0;
  // 16-bit halves keep every partial product exact in double precision.
  const aH = a >>> 16;
  const aL = a & 0xffff;
  const bH = b >>> 16;
  const bL = b & 0xffff;
  const mid1 = aH * bL;
  const mid2 = aL * bH;
  const carry = ((aL * bL) / 65536 + (mid1 & 0xffff) + (mid2 & 0xffff)) / 65536;
  out[hiIdx] =
    (aH * bH + Math.floor(mid1 / 65536) + Math.floor(mid2 / 65536) + Math.floor(carry)) >>> 0;
  out[loIdx] = lo;
}

const tmp = new Uint32Array(4);

/** One Philox4x32-10 block: 4 uint32 words from a 4-word counter and a 2-word key. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    mulhilo(M0, x0, tmp, 0, 1); // hi0, lo0
    mulhilo(M1, x2, tmp, 2, 3); // hi1, lo1
    const y0 = (tmp[2] ^ x1 ^ key0) >>> 0;
    const y1 = tmp[3];
    const y2 = (tmp[0] ^ x3 ^ key1) >>> 0;
    const y3 = tmp[1];
    x0 = y0;
    x1 = y1;
    x2 = y2;
    x3 = y3;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
  return out;
}

/** Splits a seed (a non-negative safe integer) into the two key words. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`seed must be a non-negative safe integer, got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/** Uniform in [0, 1) with 32 bits of resolution from one output word. */
export function toUnit(word: number): number {
  return word / 4294967296;
}
