import { STREAM_DROPOUT } from './batchOrder';
import { philox4x32, seedKey, toUnit } from './philox';

/**
 * Inverted-dropout mask (0 or 1/(1−rate)) for one Dropout layer at one step. Each element is keyed
 * by (seed, step, layer, training-example index, element), not by the row's position in the
 * batch, so an example gets the same mask in a baseline run and in a run where another example
 * was removed or reweighted (common random numbers), whatever the batch composition.
 */
export function dropoutMask(
  seed: number,
  step: number,
  layer: number,
  exampleIds: ArrayLike<number>,
  unitsPerExample: number,
  rate: number,
): Float32Array {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}`);
  if (layer < 0 || layer >= 1 << 27) throw new Error(`layer index out of range: ${layer}`);
  const [k0, k1] = seedKey(seed);
  const scale = 1 / (1 - rate);
  const mask = new Float32Array(exampleIds.length * unitsPerExample);
  const out = new Uint32Array(4);
  const tag = ((layer << 4) | STREAM_DROPOUT) >>> 0;
  for (let r = 0; r < exampleIds.length; r++) {
    const id = exampleIds[r];
    const base = r * unitsPerExample;
    for (let p = 0; p < unitsPerExample; p += 4) {
      philox4x32(tag, step, id, p >>> 2, k0, k1, out);
      const end = Math.min(4, unitsPerExample - p);
      for (let q = 0; q < end; q++) mask[base + p + q] = toUnit(out[q]) >= rate ? scale : 0;
    }
  }
  return mask;
}
