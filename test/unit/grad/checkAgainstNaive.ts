/** The gradient engine checked against naive per-example autodiff (naive.ts) on one model. */
import assert from 'node:assert/strict';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { exactDots, featurize, featurizeFactors } from '../../../lib/grad';
import type { FactorBlock, LayerSelection } from '../../../lib/grad/types';
import { accumulateFeatureProduct, gradientVectors } from '../../../lib/methods/factoredFeatures';
import { maxAbsDiff, naiveGradients, type RefFn, rowsOf } from './naive';

/** Checks flattened gradients, test values, sq norms and exact dots against naive autodiff. */
export function checkAgainstNaive(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: ArrayLike<number> | null,
  opts: {
    layers?: LayerSelection;
    fn?: RefFn;
    /**
     * The model whose forward pass the reference differentiates, where tfjs's autodiff cannot
     * take the model's own: same layers and function, each weight found by layer and name.
     */
    reference?: tfl.LayersModel;
  } = {},
) {
  const n = xs.shape[0];
  const spec = { layers: opts.layers, testFunction: opts.fn, batchSize: 3 };
  const f = featurize(model, xs, ys, { ...spec, projector: { kind: 'none' } });
  const { blocks } = featurizeFactors(model, xs, ys, spec);
  const ref = opts.reference
    ? naiveGradients(opts.reference, xs, ys, sameWeightsIn(model, opts.reference, blocks), opts.fn)
    : naiveGradients(model, xs, ys, blocks, opts.fn);
  // The blocks cover every trainable weight of the layers they name (a handler that left out a
  // bias would otherwise be compared with a reference taken over the same short list).
  const covered = blocks.flatMap((b) => b.params.map((p) => p.name)).sort();
  const layerNames = new Set(blocks.map((b) => b.layer));
  if (opts.layers === undefined || opts.layers === 'all') {
    const all = model.layers.filter((l) => l.trainable && l.trainableWeights.length > 0);
    assert.deepEqual([...layerNames].sort(), all.map((l) => l.name).sort());
  }
  const expected = model.layers
    .filter((l) => layerNames.has(l.name))
    .flatMap((l) => l.trainableWeights.map((w) => w.name))
    .sort();
  if (opts.layers !== 'adapters') assert.deepEqual(covered, expected);
  // Layers stored as factors (where smaller) must stand for exactly the naive gradient.
  const v = gradientVectors(f.grads);
  const { err, scale } = maxAbsDiff(rowsOf(v.data, n, v.dim), ref.grads);
  assert.ok(scale > 1e-3, `gradients are not trivially zero (${scale})`);
  // Every block's reference is non-trivial, so an error confined to one block shows.
  for (const l of v.layers) {
    let m = 0;
    for (const g of ref.grads)
      for (let p = 0; p < l.size; p++) m = Math.max(m, Math.abs(g[l.offset + p]));
    assert.ok(m > 1e-4, `block '${l.name}': reference gradient is trivially zero (${m})`);
  }
  assert.ok(err <= 2e-6 * Math.max(1, scale), `max abs error ${err} (scale ${scale})`);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(f.loss[i] - ref.values[i]) <= 1e-5 * Math.max(1, Math.abs(ref.values[i])));
    const sq = ref.grads[i].reduce((s, v) => s + v * v, 0);
    assert.ok(Math.abs(f.sqNorm[i] - sq) <= 1e-5 * sq, `sqNorm ${f.sqNorm[i]} vs ${sq}`);
  }
  // Exact dots from factor blocks and from the stored features against the naive gradients.
  const { total } = exactDots(blocks, blocks);
  const stored = new Float64Array(n * n);
  accumulateFeatureProduct(f.grads, f.grads, stored);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let p = 0; p < ref.grads[i].length; p++) d += ref.grads[i][p] * ref.grads[j][p];
      const tol = 1e-5 * Math.sqrt(f.sqNorm[i] * f.sqNorm[j]) + 1e-9;
      for (const [what, got] of [
        ['factor blocks', total[i * n + j]],
        ['stored features', stored[i * n + j]],
      ] as const) {
        assert.ok(Math.abs(got - d) <= tol, `dot ${i},${j} (${what}): ${got} vs ${d}`);
      }
    }
  }
  return f;
}

/** The blocks' parameters named as the same layer's same weight in `other`. */
function sameWeightsIn(
  model: tfl.LayersModel,
  other: tfl.LayersModel,
  blocks: Pick<FactorBlock, 'params'>[],
): Pick<FactorBlock, 'params'>[] {
  const rename = (name: string) => {
    const layer = model.layers.find((l) => l.weights.some((w) => w.name === name));
    const w = layer?.weights.find((v) => v.name === name);
    const twin =
      layer && other.getLayer(layer.name).weights.find((v) => v.originalName === w?.originalName);
    if (!twin) throw new Error(`no weight like ${name} in the reference model`);
    return twin.name;
  };
  return blocks.map((b) => ({ params: b.params.map((p) => ({ ...p, name: rename(p.name) })) }));
}
