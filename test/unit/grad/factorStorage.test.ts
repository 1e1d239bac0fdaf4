import assert from 'node:assert/strict';
import { test } from 'node:test';
import { factorLayout, kroneckerFactor, kroneckerSides, projectBlocks } from '../../../lib/grad';
import { addGradient, blockSqNorms } from '../../../lib/grad/blockMath';
import type { FactorBlock, ProjectorSpec } from '../../../lib/grad/types';
import {
  accumulateFeatureProduct,
  featureSqNorms,
  gradientVectors,
} from '../../../lib/methods/factoredFeatures';
import { useTestBackend } from '../../support/backend';
import { rng } from './naive';
import { fixtureBlocks } from './projectionFixture';

/** A wide block at 2 positions: its projected factors (2 × (8 + 8)) beat 8 × 8 columns. */
function wideBlock(rows = 5): FactorBlock {
  const r = rng(9);
  const arr = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  return {
    name: 'w',
    layer: 'w',
    layerType: 'Dense',
    rows,
    positions: 2,
    inDim: 20,
    outDim: 16,
    a: arr(rows * 2 * 20),
    delta: arr(rows * 2 * 16),
    params: [{ name: 'k', shape: [20, 16] }],
  };
}

/** Example i's block gradient in float64, projected as P_inᵀ G P_out under a Kronecker spec. */
function reference(b: FactorBlock, i: number, spec: ProjectorSpec): Float64Array {
  const g = new Float64Array(b.inDim * b.outDim);
  addGradient(b, i, g);
  if (spec.kind === 'none') return g;
  if (spec.kind !== 'kronecker') throw new Error('reference: kronecker or none only');
  const [k1, k2] = kroneckerSides(b, spec);
  const Pin = kroneckerFactor(spec.seed, `${b.name}#in`, b.inDim, k1);
  const Pout = kroneckerFactor(spec.seed, `${b.name}#out`, b.outDim, k2);
  const out = new Float64Array(k1 * k2);
  for (let r = 0; r < k1; r++) {
    for (let j = 0; j < k2; j++) {
      let s = 0;
      for (let p = 0; p < b.inDim; p++) {
        for (let o = 0; o < b.outDim; o++)
          s += Pin[p * k1 + r] * g[p * b.outDim + o] * Pout[o * k2 + j];
      }
      out[r * k2 + j] = s;
    }
  }
  return out;
}

// engine 'tf' projects stored factors by the backend's matMul (float32 sums): same tolerance.
await useTestBackend();
const specs: ProjectorSpec[] = [
  { kind: 'none' },
  { kind: 'kronecker', k1: 8, k2: 8, seed: 5 },
  { kind: 'kronecker', k1: 4, k2: 4, seed: 5 },
  { kind: 'kronecker', k1: 8, k2: 8, seed: 5, engine: 'tf' },
];

test('storage per layer: factors exactly when T·(k1 + k2) < k1·k2', () => {
  const blocks = [...fixtureBlocks(), wideBlock()];
  const stored = (spec: ProjectorSpec) => blocks.map((b) => factorLayout(b, spec) !== null);
  // d: 1·(10 + 5) < 50; s: 3·(4 + 6) ≥ 24; e: one-hot tokens never; w: 2·(20 + 16) < 320.
  assert.deepEqual(stored(specs[0]), [true, false, false, true]);
  // Kronecker 8×8: d 8 + 5 < 40; s (sides 4, 6) 30 ≥ 24; w 2·16 < 64.
  assert.deepEqual(stored(specs[1]), [true, false, false, true]);
  // Kronecker 4×4: w 2·8 = 16, not smaller than 16: the projected gradient.
  assert.deepEqual(stored(specs[2]), [true, false, false, false]);
  const m = projectBlocks(blocks, specs[1]);
  assert.deepEqual(
    m.layers.map((l) => [l.name, l.size, l.factors ?? null]),
    [
      ['d', 8 + 5, { positions: 1, inDim: 8, outDim: 5 }],
      ['s', 4 * 6, null],
      ['e', 8 * 3, null],
      ['w', 2 * (8 + 8), { positions: 2, inDim: 8, outDim: 8 }],
    ],
  );
});

test('stored factors stand for the exact (projected) gradient; products and norms agree', () => {
  const blocks = [...fixtureBlocks(), wideBlock(6)];
  for (const spec of specs) {
    const m = projectBlocks(blocks, spec);
    const v = gradientVectors(m);
    const rows = m.rows;
    let scale = 0;
    let err = 0;
    for (let i = 0; i < rows; i++) {
      blocks.forEach((b, k) => {
        const ref = reference(b, i, spec);
        const o = i * v.dim + v.layers[k].offset;
        assert.equal(v.layers[k].size, ref.length, `${b.name} size`);
        for (let p = 0; p < ref.length; p++) {
          scale = Math.max(scale, Math.abs(ref[p]));
          err = Math.max(err, Math.abs(v.data[o + p] - ref[p]));
        }
      });
    }
    assert.ok(
      scale > 0.1 && err <= 1e-5 * scale,
      `${JSON.stringify(spec)}: max error ${err} (scale ${scale})`,
    );
    // Products and norms read from the factors equal those of the expanded vectors.
    const fromFactors = new Float64Array(rows * rows);
    accumulateFeatureProduct(m, m, fromFactors);
    const fromVectors = new Float64Array(rows * rows);
    accumulateFeatureProduct(v, v, fromVectors);
    const norms = featureSqNorms(m);
    for (let i = 0; i < rows * rows; i++) {
      const tol = 1e-5 * Math.max(1, Math.abs(fromVectors[i]));
      assert.ok(Math.abs(fromFactors[i] - fromVectors[i]) <= tol, `${spec.kind} product ${i}`);
    }
    for (let i = 0; i < rows; i++) {
      assert.ok(Math.abs(norms[i] - fromVectors[i * rows + i]) <= 1e-5 * fromVectors[i * rows + i]);
    }
  }
});

test("unprojected factors' copy gives each one-position example's exact squared norm, blockSqNorms' bits", () => {
  const dense: FactorBlock = {
    ...wideBlock(7),
    positions: 1,
    a: wideBlock(7).a?.subarray(0, 7 * 20),
    delta: wideBlock(7).delta.subarray(0, 7 * 16),
  };
  const blocks = [dense, wideBlock(7)];
  const g = projectBlocks(blocks, { kind: 'none' });
  const want = blockSqNorms(dense);
  assert.equal(g.sqNorms[0]?.length, 7);
  for (let i = 0; i < 7; i++) assert.ok(Object.is(g.sqNorms[0]?.[i], want[i]), `row ${i}`);
  // Several positions: the norms are not a product of two sums; blockSqNorms gives them.
  assert.equal(g.sqNorms[1], undefined);
  // Under a Kronecker projector the stored factors are projected: no exact norms from them.
  assert.ok(
    projectBlocks(blocks, { kind: 'kronecker', k1: 8, k2: 8, seed: 5 }).sqNorms.every(
      (n) => n === undefined,
    ),
  );
});

test('no -0 in any column when factored and gradient-stored blocks sit side by side', () => {
  const withNegZeros = (n: number, seed: number) => {
    const r = rng(seed);
    return Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -0 : r() * 2 - 1));
  };
  const rows = 4;
  const block = (name: string, inDim: number, outDim: number, seed: number): FactorBlock => ({
    name,
    layer: name,
    layerType: 'Dense',
    rows,
    positions: 1,
    inDim,
    outDim,
    a: withNegZeros(rows * inDim, seed),
    delta: withNegZeros(rows * outDim, seed + 1),
    params: [{ name: 'k', shape: [inDim, outDim] }],
  });
  // 9 + 7 factors beat 63 gradient values; 2 + 2 do not beat 4.
  const blocks = [block('wide', 9, 7, 1), block('small', 2, 2, 3)];
  const g = projectBlocks(blocks, { kind: 'none' });
  assert.deepEqual(
    g.layers.map((l) => [l.name, l.size, Boolean(l.factors)]),
    [
      ['wide', 16, true],
      ['small', 4, false],
    ],
  );
  assert.ok(
    blocks[0].a?.some((v) => Object.is(v, -0)),
    'the factors hold -0',
  );
  for (let k = 0; k < g.data.length; k++) assert.ok(!Object.is(g.data[k], -0), `value ${k}`);
  // The factored block's columns are its factors, -0 as +0.
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < 9; p++)
      assert.equal(g.data[i * g.dim + p], (blocks[0].a as Float32Array)[i * 9 + p] + 0);
    for (let q = 0; q < 7; q++)
      assert.equal(g.data[i * g.dim + 9 + q], blocks[0].delta[i * 7 + q] + 0);
  }
});

test('projected factors hold no -0, not even where a tiny negative value rounds to zero', () => {
  // a's one nonzero is float32's smallest negative subnormal: its projections (a few tenths of
  // it) round to ±0 in float32, and all-zero rows project to exact zeros.
  const rows = 3;
  const b: FactorBlock = {
    ...wideBlock(rows),
    a: Float32Array.from({ length: rows * 2 * 20 }, (_, i) => (i % 7 === 0 ? -1.4e-45 : -0)),
    delta: Float32Array.from({ length: rows * 2 * 16 }, (_, i) => (i % 5 === 0 ? -1.4e-45 : -0)),
  };
  for (const engine of ['js', 'tf'] as const) {
    const g = projectBlocks([b], { kind: 'kronecker', k1: 8, k2: 8, seed: 5, engine });
    assert.ok(g.layers[0].factors, `${engine}: stored as factors`);
    for (let k = 0; k < g.data.length; k++) {
      assert.ok(!Object.is(g.data[k], -0), `${engine}: value ${k} is -0`);
    }
  }
});
