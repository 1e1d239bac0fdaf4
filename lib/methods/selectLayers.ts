import type { ExampleFeatures, LayerSlice } from '../features';
import { featureSqNorms } from './factoredFeatures';

/** Layers of stored features a method should see: every one, the last, or named ones. */
export type FeatureLayers = 'all' | 'last' | { names: string[] };

/**
 * The features restricted to some of their layers' columns (in stored order), so a method can run
 * on, say, the last layer of features stored for all of them. Exact norms become the sum of the
 * chosen layers' exact norms when the per-layer norms are stored, else the chosen columns' norms.
 */
export function selectLayers(f: ExampleFeatures, which: FeatureLayers): ExampleFeatures {
  if (which === 'all') return f;
  const { rows, dim, data, layers } = f.grads;
  if (!layers || layers.length === 0) {
    throw new Error('selectLayers: the features carry no layer slices to select from');
  }
  const picked =
    which === 'last'
      ? [layers.length - 1]
      : which.names.map((name) => {
          const i = layers.findIndex((l) => l.name === name);
          if (i < 0) {
            throw new Error(
              `selectLayers: no layer "${name}" in the features (have ${layers.map((l) => l.name).join(', ')})`,
            );
          }
          return i;
        });
  const width = picked.reduce((s, i) => s + layers[i].size, 0);
  const out = new Float32Array(rows * width);
  const sqNorm = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let o = r * width;
    for (const i of picked) {
      const { offset, size } = layers[i];
      out.set(data.subarray(r * dim + offset, r * dim + offset + size), o);
      o += size;
      if (f.layerSqNorm) sqNorm[r] += f.layerSqNorm[r * layers.length + i];
    }
  }
  let offset = 0;
  const sliced: LayerSlice[] = picked.map((i) => {
    const { name, size, factors } = layers[i];
    const l = factors ? { name, offset, size, factors } : { name, offset, size };
    offset += size;
    return l;
  });
  const grads = { rows, dim: width, data: out, layers: sliced };
  if (!f.layerSqNorm) sqNorm.set(featureSqNorms(grads));
  return {
    grads,
    loss: f.loss,
    sqNorm,
    layerSqNorm: f.layerSqNorm
      ? Float64Array.from({ length: rows * picked.length }, (_, k) => {
          const r = Math.floor(k / picked.length);
          return (f.layerSqNorm as Float64Array)[r * layers.length + picked[k % picked.length]];
        })
      : undefined,
  };
}
