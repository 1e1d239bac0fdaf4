import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExampleFeatures, LayerSlice } from '../../../lib/features';
import { gradientVectors, vectorFeatures } from '../../../lib/methods/factoredFeatures';
import { influenceSelfScores } from '../../../lib/methods/influence/influenceSelf';
import { factorCurvature, gramPartial } from '../../../lib/methods/influence/projectedCurvature';
import { tensorGramPartial, tensorInfluenceSelf } from '../../../lib/pipeline/tensorCurvature';
import { initBackend } from '../../../lib/tf/backend';
import { COMPARED_BACKENDS } from '../../support/backend';
import { maxRelErr, randomMatrix } from '../methods/fixtures';

/**
 * Rows stored as a plain layer of 5 values, then a layer as one position's factors (6 + 4) and,
 * with `positions` 2, a third as two positions' factors (2 × (3 + 2)): 4,500 rows, so the
 * products run in several chunks.
 */
function factored(seed: number, positions: 1 | 2, rows = 4500): ExampleFeatures {
  const layers: LayerSlice[] = [
    { name: 'plain', offset: 0, size: 5 },
    { name: 'one', offset: 5, size: 10, factors: { positions: 1, inDim: 6, outDim: 4 } },
  ];
  if (positions === 2) {
    layers.push({
      name: 'two',
      offset: 15,
      size: 10,
      factors: { positions: 2, inDim: 3, outDim: 2 },
    });
  }
  const dim = positions === 2 ? 25 : 15;
  const data = Float32Array.from(randomMatrix(rows, dim, seed));
  return {
    grads: { rows, dim, data, layers },
    loss: new Float32Array(rows),
    sqNorm: new Float64Array(rows),
  };
}

for (const backend of COMPARED_BACKENDS) {
  test(`curvature partial and self-scores expand factors on the backend, bit for bit (${backend})`, async () => {
    await initBackend(backend, () => {});
    for (const positions of [1, 2] as const) {
      const f = factored(positions, positions);
      const vectors = vectorFeatures(f);
      const got = await tensorGramPartial(f.grads);
      // The same products of the same float32 vectors as when gradientVectors expands them in JS.
      assert.deepEqual(got, await tensorGramPartial(vectors.grads), `positions ${positions}`);
      const want = gramPartial(f.grads);
      assert.equal(got.dim, want.dim);
      assert.ok(maxRelErr(got.gram, want.gram) < 1e-5, `gram, positions ${positions}`);
      const curvature = factorCurvature(want, { relativeDamping: 0.01 });
      const scores = await tensorInfluenceSelf(f, curvature);
      assert.deepEqual(scores, await tensorInfluenceSelf(vectors, curvature));
      const ref = influenceSelfScores(f, curvature);
      assert.ok(maxRelErr(scores, ref) < 1e-4, `self-scores, positions ${positions}`);
    }
  });
}

test('non-finite factors, and factors whose products overflow float32, are refused', async () => {
  await initBackend('cpu', () => {});
  const bad = factored(3, 1, 10);
  bad.grads.data[4 * 15 + 7] = Number.NaN;
  await assert.rejects(tensorGramPartial(bad.grads), /non-finite gradient value NaN at row 4/);
  const curvature = factorCurvature(gramPartial(factored(4, 1, 50).grads), { damping: 1 });
  await assert.rejects(tensorInfluenceSelf(bad, curvature), /non-finite gradient value NaN/);
  // a_p = δ_q = 1e20: finite in float32, their product is not.
  const huge = factored(5, 1, 10);
  huge.grads.data[6 * 15 + 5] = 1e20;
  huge.grads.data[6 * 15 + 11] = 1e20;
  assert.equal(gradientVectors(huge.grads).data[6 * 29 + 5], Number.POSITIVE_INFINITY);
  await assert.rejects(tensorGramPartial(huge.grads), /non-finite product of rows 0–9/);
  await assert.rejects(tensorInfluenceSelf(huge, curvature), /non-finite product of rows 0–9/);
  const wrong = factored(6, 2, 10);
  await assert.rejects(
    tensorInfluenceSelf(wrong, curvature),
    /train dim 35 does not match curvature dim 29/,
  );
});
