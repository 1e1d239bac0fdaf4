import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { KfacPartial } from '../../../lib/methods/influence/kfac';
import { sketchFeatures } from '../../../lib/methods/influence/kroneckerSketch';
import { selectLayers } from '../../../lib/methods/selectLayers';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import {
  CURVATURE_KINDS,
  decodeFactored,
  decodePartials,
} from '../../../lib/pipeline/curvatureKinds';
import {
  CURVATURE_FILE,
  FACTORED_FILE,
  factorRunCurvature,
  selfFeatures,
  selfFeaturesFile,
  sumCurvatureNode,
} from '../../../lib/pipeline/curvatureReduce';
import { readFeatureFile } from '../../../lib/pipeline/featureFile';
import { featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { influenceSelfPasses } from '../../../lib/pipeline/influenceSelfPasses';
import { mergeResultsNode } from '../../../lib/pipeline/mergeResults';
import {
  curvatureNodePrefix,
  factoredPrefix,
  partialPrefix,
  runReduceLevels,
} from '../../../lib/pipeline/reducePrefixes';
import { reduceRun } from '../../../lib/pipeline/reduceRun';
import { checkpointInfos, RunContext } from '../../../lib/pipeline/runContext';
import { runInProcess } from '../../../lib/pipeline/runInProcess';
import type { RunSpecInput } from '../../../lib/pipeline/runSpec';
import { scoreShard } from '../../../lib/pipeline/scoreShard';
import { selfScoreShard } from '../../../lib/pipeline/selfScoreShard';
import { storePlan } from '../../../lib/pipeline/storePlan';
import { childRange, reduceInTree } from '../../../lib/reduce/reduceTree';
import { readCommitted, readCommittedFile, readManifest } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { useTestBackend } from '../../support/backend';
import { recording } from '../../support/recordingStore';
import { readRunResults } from '../../support/runResults';
import { makeTinyRun } from '../../support/tinyRun';

before(async () => {
  await useTestBackend();
});

/** The committed node a file key belongs to (its prefix before the attempt's folder). */
const nodeOf = (key: string) => key.split('/_attempts/')[0];

const GROUP = 2;
const kfacSpec = (spec: RunSpecInput, group: number): RunSpecInput => ({
  ...spec,
  projector: { kind: 'none', dtype: 'float32' },
  selfScore: { kind: 'influence', layers: 'last', curvature: 'kfac' },
  reduceGroup: group,
});

test('reduce steps over 7 shards in groups of 2: each reads at most 2 partials, no feature file but its own shard; curvature sums equal float64; results equal the in-process runner', async () => {
  const raw = new FsStore(await mkdtemp(join(tmpdir(), 'tda-reduce-steps-')));
  const spec = kfacSpec(await makeTinyRun(raw, 'p'), GROUP);
  const { store, take } = recording(raw);
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, spec, (k) => ctx.model(k));
  const planKey = await storePlan(store, plan);
  const C = plan.checkpoints.length;
  for (let c = 0; c < C; c++) {
    for (let s = 0; s < plan.query.shards.length; s++) {
      await featurizeShard(ctx, { planKey, set: 'query', shard: s, checkpoints: [c] });
    }
  }
  const S = plan.train.shards.length;
  for (let s = 0; s < S; s++) {
    for (let c = 0; c < C; c++) {
      await featurizeShard(ctx, { planKey, set: 'train', shard: s, checkpoints: [c] });
    }
    await scoreShard(ctx, planKey, s);
  }
  const levels = runReduceLevels(plan);
  assert.deepEqual(levels, [7, 4, 2], '300 rows in parts of 128, shards of 50: 7 shards');
  take();

  const noFeatures = (reads: string[], step: string) =>
    assert.ok(!reads.some((k) => k.startsWith('features/')), `${step} read a feature file`);
  const atMostGroup = (reads: string[], step: string) => {
    const nodes = new Set(reads.map(nodeOf));
    assert.ok(nodes.size <= GROUP, `${step} read ${nodes.size} partials: ${[...nodes]}`);
  };
  // Curvature tree, then factoring.
  for (let l = 1; l < levels.length; l++) {
    for (let j = 0; j < levels[l]; j++) {
      await sumCurvatureNode(ctx, planKey, l, j);
      const reads = take();
      noFeatures(reads, `curvature L${l}/${j}`);
      atMostGroup(reads, `curvature L${l}/${j}`);
      const [a, b] = childRange(levels, GROUP, l, j);
      assert.deepEqual(
        new Set(reads.map(nodeOf)),
        new Set(
          Array.from({ length: b - a }, (_, i) =>
            curvatureNodePrefix(plan.runPrefix, l - 1, a + i),
          ),
        ),
      );
    }
  }
  await factorRunCurvature(ctx, planKey);
  atMostGroup(take(), 'factor');
  // Each shard's self-scores read the last layer's features its score step kept, not the
  // feature files, and the factored curvature once per process.
  for (let s = 0; s < S; s++) {
    await selfScoreShard(ctx, planKey, s);
    const reads = take();
    noFeatures(reads, `self-score ${s}`);
    assert.deepEqual(
      new Set(reads.map(nodeOf)),
      new Set([
        partialPrefix(plan.runPrefix, s),
        ...(s === 0 ? [factoredPrefix(plan.runPrefix)] : []),
      ]),
    );
    assert.equal(reads.length, C + (s === 0 ? 1 : 0));
  }
  // Results tree: a leaf is a shard's scores and its self-scores; at most 2 leaves per step.
  for (let l = 1; l < levels.length; l++) {
    for (let j = 0; j < levels[l]; j++) {
      await mergeResultsNode(ctx, planKey, l, j);
      const reads = take();
      noFeatures(reads, `merge L${l}/${j}`);
      const scoreNodes = new Set(reads.filter((k) => !k.includes('/self/')).map(nodeOf));
      assert.ok(scoreNodes.size <= GROUP, `merge L${l}/${j} read ${[...scoreNodes]}`);
    }
  }
  const summary = await reduceRun(ctx, planKey);
  const finalReads = take();
  noFeatures(finalReads, 'final');
  atMostGroup(finalReads, 'final');

  // The curvature: the shards' partials summed in the tree equal float64 sums over every row.
  const kfac = CURVATURE_KINDS.kfac;
  const shardPartials: KfacPartial[][] = [];
  for (let s = 0; s < S; s++) {
    const prefix = curvatureNodePrefix(plan.runPrefix, 0, s);
    shardPartials.push(
      decodePartials(kfac, await readCommitted(raw, prefix, CURVATURE_FILE), prefix),
    );
  }
  const factored = decodeFactored(
    kfac,
    await readCommitted(raw, factoredPrefix(plan.runPrefix), FACTORED_FILE),
    'factored',
  );
  for (let c = 0; c < C; c++) {
    const summed = reduceInTree(
      shardPartials.map((p) => p[c]),
      GROUP,
      kfac.merge,
    );
    // The factoring step's object is the factoring of exactly this sum.
    assert.deepEqual(factored[c], kfac.factor(summed, { relativeDamping: 0.01 }));
    // Brute force: Σ a aᵀ and Σ δ δᵀ over every training row, in float64 from the stored factors.
    const l = summed.layers[0];
    const a = new Float64Array(l.inDim * l.inDim);
    const d = new Float64Array(l.outDim * l.outDim);
    let rows = 0;
    for (let s = 0; s < S; s++) {
      const f = selectLayers((await ctx.features(plan, 'train', s, c)).features, 'last');
      const fl = f.grads.layers![0];
      for (let i = 0; i < f.grads.rows; i++) {
        const o = i * f.grads.dim + fl.offset;
        const av = f.grads.data.subarray(o, o + l.inDim);
        const dv = f.grads.data.subarray(o + l.inDim, o + l.inDim + l.outDim);
        for (let x = 0; x < l.inDim; x++)
          for (let y = 0; y < l.inDim; y++) a[x * l.inDim + y] += av[x] * av[y];
        for (let x = 0; x < l.outDim; x++)
          for (let y = 0; y < l.outDim; y++) d[x * l.outDim + y] += dv[x] * dv[y];
      }
      rows += f.grads.rows;
    }
    assert.equal(summed.examples, rows);
    const close = (got: Float64Array, want: Float64Array, what: string) => {
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < want.length; i++) {
        assert.ok(
          Math.abs(got[i] - want[i]) <= 1e-5 * scale,
          `${what}[${i}] ${got[i]} vs ${want[i]}`,
        );
      }
    };
    close(l.a, a, `checkpoint ${c} Σaaᵀ`);
    close(l.s, d, `checkpoint ${c} Σδδᵀ`);
  }

  // The same spec through the in-process runner, on another store: the same bytes.
  const other = new FsStore(await mkdtemp(join(tmpdir(), 'tda-reduce-steps-ref-')));
  const ref = await runInProcess(other, kfacSpec(await makeTinyRun(other, 'p'), GROUP));
  assert.equal(ref.runPrefix, summary.runPrefix);
  assert.deepEqual(await readRunResults(raw, summary), await readRunResults(other, ref));
  assert.deepEqual(ref.topSelfInfluence, summary.topSelfInfluence);

  // The self-scores equal the two in-memory passes (one left fold over shards) to round-off.
  const passes = await influenceSelfPasses({
    parts: S,
    checkpoints: checkpointInfos(plan),
    read: async (s, c) => selectLayers((await ctx.features(plan, 'train', s, c)).features, 'last'),
    curvature: { relativeDamping: 0.01 },
    curvatureKind: 'kfac',
  });
  const self = (await readRunResults(raw, summary)).self;
  const want = passes.flatMap((p) => Array.from(p));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(self[i] - want[i]) <= 1e-9 * Math.abs(want[i]), `row ${i}`);
  }
});

test('with every shard in one group the self-scores are the old single reduce’s, bit for bit', async () => {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-reduce-one-')));
  const spec = kfacSpec(await makeTinyRun(store, 'p'), 32);
  const summary = await runInProcess(store, spec);
  const ctx = new RunContext(store);
  const plan = await ctx.plan(summary.files.plan);
  assert.deepEqual(runReduceLevels(plan), [7]);
  const passes = await influenceSelfPasses({
    parts: plan.train.shards.length,
    checkpoints: checkpointInfos(plan),
    read: async (s, c) => selectLayers((await ctx.features(plan, 'train', s, c)).features, 'last'),
    curvature: { relativeDamping: 0.01 },
    curvatureKind: 'kfac',
  });
  assert.deepEqual(
    (await readRunResults(store, summary)).self,
    passes.flatMap((p) => Array.from(p)),
  );
});

// A sketch stored as factors (4 + 3 numbers, δ's 3 kept exact), and one stored as a vector
// (2 × 2, both sides sketched: sketching it again would be refused).
for (const sketch of [
  { k1: 4, k2: 3, seed: 7 },
  { k1: 2, k2: 2, seed: 7 },
]) {
  test(`exact factors, the Gram of a ${sketch.k1} × ${sketch.k2} sketch: each shard stores the sketch of its last layer bit for bit (float32, smaller than the layer), and the self-scores are those of passes that sketch as they read`, async () => {
    const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-reduce-sketch-')));
    const spec: RunSpecInput = {
      ...(await makeTinyRun(store, 'p')),
      projector: { kind: 'none' },
      selfScore: { kind: 'influence', layers: 'last', sketch },
    };
    const summary = await runInProcess(store, spec);
    const ctx = new RunContext(store);
    const plan = await ctx.plan(summary.files.plan);
    const S = plan.train.shards.length;
    const last = async (s: number, c: number) =>
      selectLayers((await ctx.features(plan, 'train', s, c)).features, 'last');
    for (let s = 0; s < S; s++) {
      const prefix = partialPrefix(plan.runPrefix, s);
      const manifest = await readManifest(store, prefix);
      const kept = await selfFeatures(ctx, plan, s, () => {});
      for (let c = 0; c < plan.checkpoints.length; c++) {
        // Written by the score step (selfFeatures would otherwise sketch the feature files).
        const entry = manifest?.files[selfFeaturesFile(c, true)];
        assert.ok(entry, `shard ${s} checkpoint ${c}: no sketched file`);
        const file = readFeatureFile(await readCommittedFile(store, entry), 'sketched');
        assert.equal(file.meta.dtype, 'float32');
        assert.equal(file.meta.sparse, undefined);
        const layer = await last(s, c);
        const sketched = sketchFeatures(layer, sketch);
        assert.deepEqual(file.features.grads, sketched.grads);
        assert.deepEqual(kept[c].grads, sketched.grads);
        assert.deepEqual(kept[c].sqNorm, layer.sqNorm);
        assert.ok(
          kept[c].grads.dim < layer.grads.dim,
          `${kept[c].grads.dim} of ${layer.grads.dim}`,
        );
      }
    }
    const passes = await influenceSelfPasses({
      parts: S,
      checkpoints: checkpointInfos(plan),
      read: last,
      sketch,
      curvature: { relativeDamping: 0.01 },
    });
    assert.deepEqual(
      (await readRunResults(store, summary)).self,
      passes.flatMap((p) => Array.from(p)),
    );
  });
}

test('float16 Kronecker features, Gram curvature: the kept last-layer features are the stored ones bit for bit, and so are the self-scores the old single reduce’s', async () => {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-reduce-f16-')));
  const spec: RunSpecInput = {
    ...(await makeTinyRun(store, 'p')),
    selfScore: { kind: 'influence', layers: 'last' },
  };
  const summary = await runInProcess(store, spec);
  const ctx = new RunContext(store);
  const plan = await ctx.plan(summary.files.plan);
  assert.equal(plan.spec.projector.dtype, 'float16');
  const S = plan.train.shards.length;
  for (let s = 0; s < S; s++) {
    const kept = await selfFeatures(ctx, plan, s, () => {});
    for (let c = 0; c < plan.checkpoints.length; c++) {
      const stored = selectLayers((await ctx.features(plan, 'train', s, c)).features, 'last');
      assert.ok(stored.grads.dim < (await ctx.features(plan, 'train', s, c)).features.grads.dim);
      assert.deepEqual(kept[c].grads, stored.grads);
    }
  }
  const passes = await influenceSelfPasses({
    parts: S,
    checkpoints: checkpointInfos(plan),
    read: async (s, c) => selectLayers((await ctx.features(plan, 'train', s, c)).features, 'last'),
    curvature: { relativeDamping: 0.01 },
  });
  assert.deepEqual(
    (await readRunResults(store, summary)).self,
    passes.flatMap((p) => Array.from(p)),
  );
});
