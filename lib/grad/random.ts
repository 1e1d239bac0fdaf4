/**
 * Counter-based random numbers (Threefry-2x32, 20 rounds; Salmon et al. 2011, Random123): the
 * value at a (key, counter) pair is a pure function of it, so every worker and every backend
 * regenerates the same projection matrix entry by entry, in any blocking, without storing it.
 * Only 32-bit integer arithmetic and fdlibm-exact Math functions are used, so results are
 * bit-identical wherever V8 runs.
 */

const ROT = [13, 15, 26, 6, 17, 29, 16, 24];
const out2 = new Uint32Array(2);

/** Threefry-2x32-20 of counter (c0, c1) under key (k0, k1); returns a shared 2-word buffer. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): Uint32Array {
  const ks2 = (0x1bd11bda ^ k0 ^ k1) >>> 0;
  const ks = [k0 >>> 0, k1 >>> 0, ks2];
  let x0 = (c0 + ks[0]) | 0;
  let x1 = (c1 + ks[1]) | 0;
  for (let r = 0; r < 20; r++) {
    x0 = (x0 + x1) | 0;
    const s = ROT[r & 7];
    x1 = (x1 << s) | (x1 >>> (32 - s));
    x1 ^= x0;
    if ((r & 3) === 3) {
      const i = (r + 1) >> 2;
      x0 = (x0 + ks[i % 3]) | 0;
      x1 = (x1 + ks[(i + 1) % 3] + i) | 0;
    }
  }
  out2[0] = x0;
  out2[1] = x1;
  return out2;
}

/** 32-bit FNV-1a of a string: turns a block name into part of a key. */
export function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 1 / 4294967296;

/**
 * Fills out[(r − row0)·cols + j] with entry (r, j) of a random matrix for rows [row0, row0+n):
 * standard normal (Box–Muller on one Threefry call per pair of columns) or ±1, times `scale`.
 * Entry (r, j) depends only on (seed, key, r, j).
 */
export function fillRandomRows(
  out: Float32Array,
  dist: 'gaussian' | 'rademacher',
  seed: number,
  key: number,
  row0: number,
  nRows: number,
  cols: number,
  scale: number,
): void {
  const k0 = seed >>> 0;
  for (let r = 0; r < nRows; r++) {
    const base = r * cols;
    const row = row0 + r;
    if (dist === 'gaussian') {
      for (let j = 0; j < cols; j += 2) {
        const w = threefry2x32(k0, key, row, j >>> 1);
        const u1 = (w[0] + 1) * INV_2_32; // (0, 1]: log is finite
        const u2 = w[1] * INV_2_32;
        const m = Math.sqrt(-2 * Math.log(u1)) * scale;
        out[base + j] = m * Math.cos(TWO_PI * u2);
        if (j + 1 < cols) out[base + j + 1] = m * Math.sin(TWO_PI * u2);
      }
    } else {
      for (let j = 0; j < cols; j += 64) {
        const w = threefry2x32(k0, key, row, j >>> 6);
        const lo = w[0];
        const hi = w[1];
        const end = Math.min(64, cols - j);
        for (let b = 0; b < end; b++) {
          const bit = b < 32 ? (lo >>> b) & 1 : (hi >>> (b - 32)) & 1;
          out[base + j + b] = bit ? scale : -scale;
        }
      }
    }
  }
}
