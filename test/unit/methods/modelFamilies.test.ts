import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ExampleFeatures } from '../../../lib/features';
import { computeFactors, featurize, loraDense, planModel } from '../../../lib/grad';
import type { LayerSelection } from '../../../lib/grad/types';
import { dataInfSelfScores } from '../../../lib/methods/dataInfSelf';
import { gradientVectors } from '../../../lib/methods/factoredFeatures';
import { scoreMethod } from '../../../lib/methods/index';
import {
  influenceSelfOverCheckpoints,
  influenceSelfScores,
} from '../../../lib/methods/influence/influenceSelf';
import { projectedCurvature } from '../../../lib/methods/influence/projectedCurvature';
import { selfInfluence } from '../../../lib/methods/selfInfluence';
import { tensorScores } from '../../../lib/pipeline/tensorScores';
import { useTestBackend } from '../../support/backend';
import { naiveGradients, randomizeWeights, randomLabels, randomTensor } from '../grad/naive';
import { dataInfReference, maxAbs, maxAbsDiff, solveDense } from './fixtures';

/**
 * Every method on the four model families the engine supports, against float64 brute force
 * from naive per-example autodiff: the formulas written out here on tf.variableGrads gradients,
 * one example at a time. The engine's side is featurize (exact gradients, projector none) then
 * lib/methods, as the in-process runner does.
 */
interface Family {
  name: string;
  model: () => tfl.LayersModel;
  inputs: (n: number, seed: number) => tf.Tensor;
  classes: number;
  layers?: LayerSelection;
}

const families: Family[] = [
  {
    name: 'tabular MLP',
    model: () =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [4], units: 5, activation: 'relu', name: 'h' }),
          tfl.layers.dense({ units: 3, name: 'out' }),
        ],
      }),
    inputs: (n, seed) => randomTensor([n, 4], seed),
    classes: 3,
  },
  {
    name: 'small CNN',
    model: () =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [5, 5, 1], filters: 2, kernelSize: 3, name: 'c' }),
          tfl.layers.maxPooling2d({ poolSize: 2 }),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: 3, name: 'out' }),
        ],
      }),
    inputs: (n, seed) => randomTensor([n, 5, 5, 1], seed),
    classes: 3,
  },
  {
    name: 'Embedding text classifier',
    model: () =>
      tfl.sequential({
        layers: [
          tfl.layers.embedding({ inputDim: 9, outputDim: 3, inputLength: 5, name: 'emb' }),
          tfl.layers.globalAveragePooling1d(),
          tfl.layers.dense({ units: 2, name: 'out' }),
        ],
      }),
    inputs: (n, seed) => {
      let s = seed;
      return tf.tensor2d(
        Array.from({ length: n * 5 }, () => (s = (s * 7 + 3) % 9)),
        [n, 5],
        'int32',
      );
    },
    classes: 2,
  },
  {
    name: 'LoRA-adapted Dense',
    model: () =>
      tfl.sequential({
        layers: [
          loraDense({
            units: 4,
            rank: 2,
            alpha: 4,
            activation: 'tanh',
            inputShape: [5],
            name: 'l',
          }),
          tfl.layers.dense({ units: 3, name: 'out', trainable: false }),
        ],
      }),
    inputs: (n, seed) => randomTensor([n, 5], seed),
    classes: 3,
    layers: 'adapters',
  },
];

const firstOrder = ['gradDot', 'gradCos', 'tracin'] as const;

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

for (const fam of families) {
  test(`every method on a ${fam.name} equals float64 brute force from naive autodiff`, async () => {
    await useTestBackend();
    const model = fam.model();
    const xs = fam.inputs(24, 1);
    const ys = randomLabels(24, fam.classes, 2);
    const qx = fam.inputs(3, 3);
    const qy = randomLabels(3, fam.classes, 4);
    const cks = [
      { step: 1, learningRate: 0.3 },
      { step: 2, learningRate: 0.1 },
    ];
    const spec = { projector: { kind: 'none' as const }, layers: fam.layers };
    const train: ExampleFeatures[] = [];
    const query: ExampleFeatures[] = [];
    const naiveT: Float64Array[][] = [];
    const naiveQ: Float64Array[][] = [];
    for (const [c, seed] of [5, 6].entries()) {
      randomizeWeights(model, seed);
      train.push(featurize(model, xs, ys, spec));
      query.push(featurize(model, qx, qy, spec));
      const blocks = computeFactors(planModel(model, fam.layers), xs, ys).blocks;
      naiveT.push(naiveGradients(model, xs, ys, blocks).grads);
      naiveQ.push(naiveGradients(model, qx, qy, blocks).grads);
      assert.equal(
        gradientVectors(train[c].grads).dim,
        naiveT[c][0].length,
        'same parameter count',
      );
    }
    const [gT, gQ] = [naiveT[1], naiveQ[1]];
    const n = gT.length;
    const D = gT[0].length;
    const ref: Record<string, Float64Array> = {
      gradDot: Float64Array.from({ length: 3 * n }, (_, k) =>
        dot(gQ[Math.floor(k / n)], gT[k % n]),
      ),
      gradCos: Float64Array.from({ length: 3 * n }, (_, k) => {
        const [q, t] = [gQ[Math.floor(k / n)], gT[k % n]];
        return dot(q, t) / Math.sqrt(dot(q, q) * dot(t, t));
      }),
      tracin: Float64Array.from({ length: 3 * n }, (_, k) =>
        cks.reduce(
          (s, ck, c) => s + ck.learningRate * dot(naiveQ[c][Math.floor(k / n)], naiveT[c][k % n]),
          0,
        ),
      ),
    };
    // Projected-space influence with no projection: the damped empirical Fisher, solved densely.
    const damping = 0.05;
    const fisher = new Float64Array(D * D);
    for (const g of gT)
      for (let i = 0; i < D; i++)
        for (let j = 0; j < D; j++) fisher[i * D + j] += (g[i] * g[j]) / n;
    for (let i = 0; i < D; i++) fisher[i * D + i] += damping;
    ref.influenceProjected = new Float64Array(3 * n);
    gQ.forEach((q, qi) => {
      const x = solveDense(fisher, q, D);
      gT.forEach((t, i) => {
        ref.influenceProjected[qi * n + i] = dot(x, t);
      });
    });
    // DataInf's formula, on the naive gradients split at the engine's layer boundaries.
    const asFeatures = (g: Float64Array[]): ExampleFeatures => ({
      grads: {
        rows: g.length,
        dim: D,
        data: Float32Array.from(g.flatMap((r) => Array.from(r))),
        layers: gradientVectors(train[1].grads).layers,
      },
      loss: new Float32Array(g.length),
      sqNorm: Float64Array.from(g, (r) => dot(r, r)),
    });
    ref.dataInf = dataInfReference(asFeatures(gT), asFeatures(gQ));
    const input = {
      train,
      query,
      checkpoints: cks,
      options: { curvatureOptions: { damping } },
    };
    for (const [method, want] of Object.entries(ref)) {
      const got = scoreMethod(method, input).data;
      const err = maxAbsDiff(got, want) / maxAbs(want);
      // First-order scores read stored factors by the dot-product identity: exact to 1e-5.
      const tol = (firstOrder as readonly string[]).includes(method) ? 1e-5 : 1e-4;
      assert.ok(err < tol, `${fam.name} ${method}: relative error ${err}`);
    }
    // The pipeline's products (float32 on the backend) on the same stored features.
    for (const name of firstOrder) {
      const got = (await tensorScores(name, train, query, cks)).data;
      const err = maxAbsDiff(got, ref[name]) / maxAbs(ref[name]);
      assert.ok(err < 1e-5, `${fam.name} tensorScores ${name}: relative error ${err}`);
    }
    const self = selfInfluence(train, cks, 'exact');
    const selfRef = Float64Array.from({ length: n }, (_, i) =>
      cks.reduce((s, ck, c) => s + ck.learningRate * dot(naiveT[c][i], naiveT[c][i]), 0),
    );
    assert.ok(maxAbsDiff(self, selfRef) / maxAbs(selfRef) < 1e-5, `${fam.name} self-influence`);
    // Curvature-weighted self-scores: gᵀ(F_c + λI)⁻¹g with each checkpoint's own dense Fisher,
    // at θ_f and summed over checkpoints with η_c; DataInf's is the diagonal of its score matrix.
    const fisherSelf = (gs: Float64Array[]) => {
      const f = new Float64Array(D * D);
      for (const g of gs)
        for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) f[i * D + j] += (g[i] * g[j]) / n;
      for (let i = 0; i < D; i++) f[i * D + i] += damping;
      return gs.map((g) => dot(solveDense(f, g, D), g));
    };
    const perCk = naiveT.map(fisherSelf);
    const dataInfTT = dataInfReference(asFeatures(gT), asFeatures(gT));
    const selfRefs: [string, ArrayLike<number>, ArrayLike<number>][] = [
      [
        'influenceSelfScores',
        influenceSelfScores(train[1], projectedCurvature(train[1], { damping })),
        perCk[1],
      ],
      [
        'influenceSelfOverCheckpoints',
        influenceSelfOverCheckpoints(train, cks, { damping }),
        perCk[0].map((v, i) => cks[0].learningRate * v + cks[1].learningRate * perCk[1][i]),
      ],
      [
        'dataInfSelfScores',
        dataInfSelfScores(train[1]),
        Float64Array.from({ length: n }, (_, i) => dataInfTT[i * n + i]),
      ],
    ];
    for (const [name, got, want] of selfRefs) {
      const err = maxAbsDiff(got, want) / maxAbs(want);
      assert.ok(err < 1e-4, `${fam.name} ${name}: relative error ${err}`);
    }
  });
}
