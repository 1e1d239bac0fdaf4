import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExampleFeatures } from '../../../lib/features';
import { projectBlocks } from '../../../lib/grad';
import { addGradient, blockSqNorms } from '../../../lib/grad/blockMath';
import type { FactorBlock } from '../../../lib/grad/types';
import { kfacSelfOverCheckpoints } from '../../../lib/methods/influence/influenceSelf';
import {
  factorKfac,
  kfacPartial,
  mergeKfacPartials,
  storedFactorBlocks,
} from '../../../lib/methods/influence/kfac';
import { useTestBackend } from '../../support/backend';
import { rng } from '../grad/naive';
import { maxAbs, maxAbsDiff, solveDense } from './fixtures';

await useTestBackend();

function block(name: string, rows: number, T: number, inDim: number, outDim: number, seed: number) {
  const r = rng(seed);
  const arr = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  return {
    name,
    layer: name,
    layerType: 'Dense',
    rows,
    positions: T,
    inDim,
    outDim,
    a: arr(rows * T * inDim),
    delta: arr(rows * T * outDim),
    params: [],
  } satisfies FactorBlock;
}

/** Features stored exactly (projector none): both blocks small enough to store as factors. */
function stored(blocks: FactorBlock[]): ExampleFeatures {
  const grads = projectBlocks(blocks, { kind: 'none' });
  assert.ok(
    grads.layers.every((l) => l.factors),
    'both layers stored as factors',
  );
  const sqNorm = new Float64Array(grads.rows);
  for (const b of blocks)
    blockSqNorms(b).forEach((v, i) => {
      sqNorm[i] += v;
    });
  return { grads, loss: new Float32Array(grads.rows), sqNorm };
}

/**
 * Float64 brute force: per layer the dense (in·out)² matrix E[aaᵀ] ⊗ E[δδᵀ] (in the gradient's
 * row-major (input, output) order) plus λ = rel × its mean eigenvalue, solved densely.
 */
function reference(blocks: FactorBlock[], rel: number): Float64Array {
  const n = blocks[0].rows;
  const out = new Float64Array(n);
  for (const b of blocks) {
    const { inDim: I, outDim: O, positions: T } = b;
    const a = b.a as Float32Array;
    const A = new Float64Array(I * I);
    const S = new Float64Array(O * O);
    for (let p = 0; p < n * T; p++) {
      for (let x = 0; x < I; x++)
        for (let y = 0; y < I; y++) A[x * I + y] += (a[p * I + x] * a[p * I + y]) / n;
      for (let x = 0; x < O; x++)
        for (let y = 0; y < O; y++) S[x * O + y] += (b.delta[p * O + x] * b.delta[p * O + y]) / n;
    }
    let trA = 0;
    let trS = 0;
    for (let x = 0; x < I; x++) trA += A[x * I + x];
    for (let x = 0; x < O; x++) trS += S[x * O + x];
    const D = I * O;
    const F = new Float64Array(D * D);
    for (let p = 0; p < I; p++)
      for (let o = 0; o < O; o++)
        for (let q = 0; q < I; q++)
          for (let u = 0; u < O; u++) F[(p * O + o) * D + q * O + u] = A[p * I + q] * S[o * O + u];
    const lambda = (rel * trA * trS) / D;
    for (let d = 0; d < D; d++) F[d * D + d] += lambda;
    for (let i = 0; i < n; i++) {
      const g = new Float64Array(D);
      addGradient(b, i, g);
      const x = solveDense(F, g, D);
      out[i] += x.reduce((s, v, k) => s + v * g[k], 0);
    }
  }
  return out;
}

test('K-FAC self-score from stored factors equals the dense Kronecker curvature, solved in float64', () => {
  const mk = (seed: number) => [block('d', 24, 1, 6, 4, seed), block('s', 24, 3, 8, 6, seed + 1)];
  const cks = [
    { step: 1, learningRate: 0.5 },
    { step: 2, learningRate: 0.2 },
  ];
  const blocks = [mk(1), mk(3)];
  const rel = 0.05;
  const got = kfacSelfOverCheckpoints(blocks.map(stored), cks, { relativeDamping: rel });
  const want = new Float64Array(24);
  blocks.forEach((b, c) => {
    reference(b, rel).forEach((v, i) => {
      want[i] += cks[c].learningRate * v;
    });
  });
  const err = maxAbsDiff(got, want) / maxAbs(want);
  assert.ok(err < 1e-4, `relative error ${err}`);
});

test('K-FAC partials of shards sum to the whole; a layer stored as a gradient is named', () => {
  const whole = stored([block('d', 20, 1, 6, 4, 7)]);
  const half = (r0: number, r1: number): ExampleFeatures => {
    const { dim, data, layers } = whole.grads;
    const rows = r1 - r0;
    return {
      grads: { rows, dim, data: data.slice(r0 * dim, r1 * dim), layers },
      loss: whole.loss.slice(r0, r1),
      sqNorm: whole.sqNorm.slice(r0, r1),
    };
  };
  const p = (f: ExampleFeatures) => kfacPartial(storedFactorBlocks(f, 'test'));
  const merged = factorKfac(mergeKfacPartials(p(half(0, 7)), p(half(7, 20))));
  const all = factorKfac(p(whole));
  const l = all.layers[0].lambda;
  assert.ok(maxAbsDiff(merged.layers[0].lambda, l) <= 1e-6 * maxAbs(l));
  assert.equal(merged.examples, 20);
  // A 2 × 2 layer's gradient (4 numbers) is smaller than its factors (2 + 2 = 4): not factored.
  const plain: ExampleFeatures = {
    grads: projectBlocks([block('tiny', 3, 1, 2, 2, 9)], { kind: 'none' }),
    loss: new Float32Array(3),
    sqNorm: new Float64Array(3),
  };
  assert.throws(
    () => kfacSelfOverCheckpoints([plain], [{ step: 1, learningRate: 1 }]),
    /layer "tiny" is stored as a \(projected\) gradient, not as factors/,
  );
});
