import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExampleFeatures } from '../../../lib/features';
import { selectLayers } from '../../../lib/methods/selectLayers';

// Two rows, layers a (2 columns), b (1), c (2).
const f: ExampleFeatures = {
  grads: {
    rows: 2,
    dim: 5,
    data: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
    layers: [
      { name: 'a', offset: 0, size: 2 },
      { name: 'b', offset: 2, size: 1 },
      { name: 'c', offset: 3, size: 2 },
    ],
  },
  loss: Float32Array.of(0.5, 0.25),
  sqNorm: Float64Array.of(100, 200),
  layerSqNorm: Float64Array.of(10, 20, 30, 40, 50, 60),
};

test('selectLayers keeps the chosen layers in stored order with their exact norms', () => {
  assert.equal(selectLayers(f, 'all'), f);
  const last = selectLayers(f, 'last');
  assert.deepEqual(Array.from(last.grads.data), [4, 5, 9, 10]);
  assert.deepEqual(last.grads.layers, [{ name: 'c', offset: 0, size: 2 }]);
  assert.deepEqual(Array.from(last.sqNorm), [30, 60]);
  const ca = selectLayers(f, { names: ['c', 'a'] });
  assert.deepEqual(Array.from(ca.grads.data), [4, 5, 1, 2, 9, 10, 6, 7]);
  assert.deepEqual(
    ca.grads.layers?.map((l) => [l.name, l.offset, l.size]),
    [
      ['c', 0, 2],
      ['a', 2, 2],
    ],
  );
  assert.deepEqual(Array.from(ca.sqNorm), [40, 100]);
  assert.deepEqual(Array.from(ca.layerSqNorm ?? []), [30, 10, 60, 40]);
  // Without stored per-layer norms: the chosen columns' own norms.
  const plain = selectLayers({ ...f, layerSqNorm: undefined }, { names: ['b'] });
  assert.deepEqual(Array.from(plain.sqNorm), [9, 64]);
});

test('selectLayers names an unknown layer and features without slices', () => {
  assert.throws(
    () => selectLayers(f, { names: ['z'] }),
    /no layer "z" in the features \(have a, b, c\)/,
  );
  assert.throws(
    () => selectLayers({ ...f, grads: { ...f.grads, layers: [] } }, 'last'),
    /no layer slices/,
  );
});
