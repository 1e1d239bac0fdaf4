import type { FactorBlock } from '../../../lib/grad/types';
import { rng } from './naive';

/** Factor blocks made directly (no tfjs): a dense single-position block, a multi-position one, tokens. */
export function fixtureBlocks(rows = 6, seed = 1): FactorBlock[] {
  const r = rng(seed);
  const arr = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  return [
    {
      name: 'd',
      layer: 'd',
      layerType: 'Dense',
      rows,
      positions: 1,
      inDim: 9,
      outDim: 5,
      a: arr(rows * 9),
      delta: arr(rows * 5),
      params: [{ name: 'k', shape: [9, 5] }],
    },
    {
      name: 's',
      layer: 's',
      layerType: 'Dense',
      rows,
      positions: 3,
      inDim: 4,
      outDim: 6,
      a: arr(rows * 3 * 4),
      delta: arr(rows * 3 * 6),
      params: [{ name: 'k', shape: [4, 6] }],
    },
    {
      name: 'e',
      layer: 'e',
      layerType: 'Embedding',
      rows,
      positions: 4,
      inDim: 10,
      outDim: 3,
      tokens: Int32Array.from({ length: rows * 4 }, () => Math.floor(r() * 10)),
      delta: arr(rows * 4 * 3),
      params: [{ name: 't', shape: [10, 3] }],
    },
  ];
}
