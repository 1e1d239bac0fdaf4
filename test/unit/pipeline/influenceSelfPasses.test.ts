import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ExampleFeatures } from '../../../lib/features';
import { influenceSelfOverCheckpoints } from '../../../lib/methods/influence/influenceSelf';
import { gramPartial } from '../../../lib/methods/influence/projectedCurvature';
import { influenceSelfPasses } from '../../../lib/pipeline/influenceSelfPasses';
import { tensorGramPartial } from '../../../lib/pipeline/tensorCurvature';
import { useTestBackend } from '../../support/backend';
import { asFeatures, maxRelErr, randomMatrix } from '../methods/fixtures';

before(async () => {
  await useTestBackend();
});

/** Random features with a few directions much larger than the rest (an uneven spectrum). */
function features(rows: number, dim: number, seed: number): ExampleFeatures {
  const g = randomMatrix(rows, dim, seed);
  for (let i = 0; i < rows; i++) for (let c = 0; c < 3; c++) g[i * dim + c] *= 20;
  return asFeatures(Float32Array.from(g), rows, dim);
}

const slice = (f: ExampleFeatures, start: number, end: number): ExampleFeatures => ({
  grads: {
    ...f.grads,
    rows: end - start,
    data: f.grads.data.subarray(start * f.grads.dim, end * f.grads.dim),
  },
  loss: f.loss.subarray(start, end),
  sqNorm: f.sqNorm.subarray(start, end),
});

test('the backend Gram partial equals the float64 one', async () => {
  const f = features(5000, 24, 1);
  const want = gramPartial(f.grads);
  const got = await tensorGramPartial(f.grads);
  assert.equal(got.count, 5000);
  assert.ok(
    maxRelErr(got.gram, want.gram) < 1e-5,
    `relative error ${maxRelErr(got.gram, want.gram)}`,
  );
});

test('two streaming passes over parts equal the in-memory influence self-score', async () => {
  const cks = [
    { step: 10, learningRate: 0.5 },
    { step: 20, learningRate: 0.1 },
  ];
  const whole = [features(700, 16, 2), features(700, 16, 3)];
  const bounds = [0, 250, 251, 700];
  const reads: string[] = [];
  const parts = await influenceSelfPasses({
    parts: 3,
    checkpoints: cks,
    read: async (p, c) => {
      reads.push(`${p}/${c}`);
      return slice(whole[c], bounds[p], bounds[p + 1]);
    },
    curvature: { relativeDamping: 0.01 },
  });
  assert.deepEqual(
    parts.map((p) => p.length),
    [250, 1, 449],
  );
  const got = Float64Array.from(parts.flatMap((p) => Array.from(p)));
  const want = influenceSelfOverCheckpoints(whole, cks, { relativeDamping: 0.01 });
  assert.ok(maxRelErr(got, want) < 1e-4, `relative error ${maxRelErr(got, want)}`);
  assert.equal(reads.length, 12, 'each part read once per pass and checkpoint');
});

test('bad parts are refused with the problem named', async () => {
  const cks = [{ step: 1, learningRate: 1 }];
  const bad = features(10, 4, 4);
  bad.grads.data[7] = Number.NaN;
  await assert.rejects(
    influenceSelfPasses({ parts: 1, checkpoints: cks, read: async () => bad }),
    /non-finite/,
  );
  await assert.rejects(
    influenceSelfPasses({
      parts: 2,
      checkpoints: cks,
      read: async (p) => features(10, p === 0 ? 4 : 5, 5),
    }),
    /merging dims 4 and 5/,
  );
});

test('a read that fails while the previous part is being computed fails the passes, once', async () => {
  const cks = [{ step: 1, learningRate: 1 }];
  await assert.rejects(
    influenceSelfPasses({
      parts: 3,
      checkpoints: cks,
      read: async (p) => {
        if (p === 1) throw new Error('part 1: no object at key "x"');
        return features(300, 8, 6);
      },
    }),
    /part 1: no object/,
  );
});
