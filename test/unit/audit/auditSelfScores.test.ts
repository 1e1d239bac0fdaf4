import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  auditCurvatureTree,
  auditPartOf,
  auditPartStep,
  auditReduceLevels,
  auditSelfScoresInProcess,
  pendingParts,
  readPartScores,
  sumAuditCurvatureNode,
} from '../../../lib/audit/auditSelfScores';
import type { AuditInput } from '../../../lib/audit/auditSpec';
import { planAudit } from '../../../lib/audit/planAudit';
import { readRanking, reportAudit } from '../../../lib/audit/reportAudit';
import { writePartitioned } from '../../../lib/data/partitionedDataset';
import { selectLayers } from '../../../lib/methods/selectLayers';
import { selfInfluence } from '../../../lib/methods/selfInfluence';
import { CURVATURE_KINDS } from '../../../lib/pipeline/curvatureKinds';
import { featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { influenceSelfPasses } from '../../../lib/pipeline/influenceSelfPasses';
import { RunContext } from '../../../lib/pipeline/runContext';
import { childRange, reduceInTree } from '../../../lib/reduce/reduceTree';
import { readCommitted } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import type { ObjectStore } from '../../../lib/store/objectStore';
import { auditFeatures } from '../../support/auditReference';
import { useTestBackend } from '../../support/backend';
import { recording } from '../../support/recordingStore';
import { blobs, makeTinyRun } from '../../support/tinyRun';

before(async () => {
  await useTestBackend();
});

const NIGHT_1 = '2025-01-01T02:00:00.000Z';
const NIGHT_2 = '2025-01-02T02:00:00.000Z';

/** Two nights of data: 70 rows (parts of 40 → 4 shards of ≤ 25), then 45 (3 shards). */
async function setup(dir: string) {
  const raw = new FsStore(await mkdtemp(join(tmpdir(), dir)));
  const spec = await makeTinyRun(raw, 'm', { trainRows: 60, queryRows: 4 });
  await writePartitioned(raw, 'incoming/2025-01-01', blobs('night-1', 70, 6, 21), 40);
  const input = (extra: Partial<AuditInput> = {}): AuditInput => ({
    name: 'nightly',
    data: 'incoming',
    checkpoints: spec.checkpoints,
    projector: { kind: 'gaussian', k: 8, seed: 1 },
    topK: 10,
    shardSize: 25,
    batchSize: 16,
    ...extra,
  });
  return { raw, input };
}

/** Plans and featurizes an audit (as the workflow's first stages do); returns its plan's key. */
async function planAndFeaturize(store: ObjectStore, input: AuditInput, time: string) {
  const ctx = new RunContext(store);
  const { plan, ref } = await planAudit(store, input, time, (k) => ctx.model(k));
  for (const [b, shard, checkpoint] of ref.pending) {
    await featurizeShard(ctx, {
      planKey: ref.batchPlans[b],
      set: 'train',
      shard,
      checkpoints: [checkpoint],
    });
  }
  return { plan, ref };
}

const noFeatureReads = (reads: string[], what: string) =>
  assert.deepEqual(
    reads.filter((k) => k.startsWith('features/')),
    [],
    `${what} read feature files`,
  );

// Exact factors too: their files leave the first layer's inputs to the data set's parts.
const PROJECTORS = [{ kind: 'gaussian' as const, k: 8, seed: 1 }, { kind: 'none' as const }];
for (const projector of PROJECTORS) {
  test(`TracIn audit self-scores per part: bit-identical to selfInfluence over the features, the report reads no feature file, the next night computes only the new parts (${projector.kind})`, async () => {
    const { raw, input } = await setup('tda-audit-parts-');
    const { store, take } = recording(raw);
    const ctx = new RunContext(store);
    const first = await planAndFeaturize(store, input({ projector }), NIGHT_1);
    const { parts, pending, levels } = await pendingParts(ctx, first.ref.planKey);
    assert.equal(parts, 4);
    assert.deepEqual(pending, [0, 1, 2, 3]);
    assert.equal(levels, null);
    take();
    // Each part's step reads its own feature files, one per checkpoint, and nothing else's.
    for (const p of pending) {
      const r = await auditPartStep(ctx, first.ref.planKey, p);
      assert.equal(r.cached, false);
      const reads = take().filter((k) => k.startsWith('features/'));
      const { batch, shard } = auditPartOf(first.plan, p);
      const bp = await ctx.plan(first.plan.batches[batch].planKey);
      assert.deepEqual(
        reads.map((k) => k.split('/').slice(0, 4).join('/')),
        first.plan.checkpoints.map((_, c) => ctx.featurePrefix(bp, 'train', shard, c)),
      );
    }
    assert.equal((await auditPartStep(ctx, first.ref.planKey, 0)).cached, true);
    const summary = await reportAudit(ctx, {
      planKey: first.ref.planKey,
      featurized: 12,
      reused: 0,
      parts: { computed: 4, reused: 0 },
    });
    noFeatureReads(take(), 'reportAudit');
    assert.deepEqual(summary.selfScoreParts, { total: 4, computed: 4, reused: 0 });

    // The reference: selfInfluence over each part's features, as the report computed it before.
    const ref = await auditFeatures(raw, first.ref.planKey);
    const want = ref.feats.map((f) => selfInfluence(f, ref.cks, 'exact'));
    for (let p = 0; p < 4; p++) {
      const got = await readPartScores(ctx, first.plan, p);
      assert.deepEqual(got.scores, want[p], `part ${p}`);
      assert.deepEqual(got.loss, ref.feats[p][ref.cks.length - 1].loss);
    }
    const ranking = readRanking(await readCommitted(raw, summary.prefix, 'ranking.arrow'));
    const all = want.flatMap((v) => Array.from(v));
    assert.deepEqual(
      Array.from(ranking.score),
      [...all].sort((a, b) => b - a),
    );

    // The next night: three new parts; the first night's four are found, not recomputed.
    await writePartitioned(raw, 'incoming/2025-01-02', blobs('night-2', 45, 6, 22), 40);
    const second = await planAndFeaturize(store, input({ projector }), NIGHT_2);
    const next = await pendingParts(ctx, second.ref.planKey);
    assert.equal(next.parts, 7);
    assert.deepEqual(next.pending, [4, 5, 6]);
    take();
    const counts = await auditSelfScoresInProcess(ctx, second.ref.planKey, next.pending);
    assert.deepEqual(counts, { computed: 3, reused: 4 });
    const featureReads = take().filter((k) => k.startsWith('features/'));
    const night2 = await ctx.plan(second.plan.batches[1].planKey);
    const night2Shards = new Set(night2.train.shards.map((s) => s.hash));
    assert.equal(featureReads.length, 3 * 3);
    for (const k of featureReads) assert.ok(night2Shards.has(k.split('/')[3]), k);
    for (let p = 0; p < 4; p++) {
      assert.deepEqual((await readPartScores(ctx, second.plan, p)).scores, want[p]);
    }
  });
}

/** The influence self-score per part against influenceSelfPasses over the same features. */
async function influenceAudit(group: number) {
  const { raw, input } = await setup(`tda-audit-if-${group}-`);
  await writePartitioned(raw, 'incoming/2025-01-02', blobs('night-2', 45, 6, 22), 40);
  const selfScore = {
    kind: 'influence' as const,
    layers: 'all' as const,
    relativeDamping: 0.05,
  };
  const { store, take } = recording(raw);
  const ctx = new RunContext(store);
  const audit = await planAndFeaturize(store, input({ selfScore, reduceGroup: group }), NIGHT_1);
  const planKey = audit.ref.planKey;
  const { pending, levels } = await pendingParts(ctx, planKey);
  assert.deepEqual(levels, auditReduceLevels(audit.plan));
  take();
  for (const p of pending) await auditPartStep(ctx, planKey, p);
  take();
  await auditSelfScoresInProcess(ctx, planKey, []);
  take();
  const summary = await reportAudit(ctx, {
    planKey,
    featurized: 0,
    reused: 0,
    parts: { computed: 7, reused: 0 },
  });
  noFeatureReads(take(), 'reportAudit');

  const ref = await auditFeatures(raw, planKey);
  const got: Float64Array[] = [];
  for (let p = 0; p < 7; p++) got.push((await readPartScores(ctx, audit.plan, p)).scores);
  const passes = await influenceSelfPasses({
    parts: 7,
    checkpoints: ref.cks,
    read: async (p, c) => selectLayers(ref.feats[p][c], 'all'),
    curvature: { relativeDamping: 0.05 },
  });
  const ranking = readRanking(await readCommitted(raw, summary.prefix, 'ranking.arrow'));
  return { raw, ctx, audit, ref, got, passes, ranking, take };
}

test('a sketched influence audit: self-scores are influenceSelfPasses’ with the same sketch; the next night’s other sketch computes its own curvature partials', async () => {
  const { raw, input } = await setup('tda-audit-sketch-');
  const ctx = new RunContext(raw);
  const night = async (seed: number, time: string) => {
    const selfScore = {
      kind: 'influence' as const,
      layers: 'last' as const,
      relativeDamping: 0.05,
      sketch: { k1: 4, k2: 2, seed },
    };
    const projector = { kind: 'none' as const };
    const audit = await planAndFeaturize(raw, input({ projector, selfScore }), time);
    const { pending } = await pendingParts(ctx, audit.ref.planKey);
    for (const p of pending) await auditPartStep(ctx, audit.ref.planKey, p);
    await auditSelfScoresInProcess(ctx, audit.ref.planKey, []);
    const ref = await auditFeatures(raw, audit.ref.planKey);
    const passes = await influenceSelfPasses({
      parts: ref.feats.length,
      checkpoints: ref.cks,
      read: async (p, c) => selectLayers(ref.feats[p][c], 'last'),
      curvature: { relativeDamping: 0.05 },
      sketch: selfScore.sketch,
    });
    const got: Float64Array[] = [];
    for (let p = 0; p < ref.feats.length; p++) {
      got.push((await readPartScores(ctx, audit.plan, p)).scores);
    }
    return { pending, got, passes };
  };
  const first = await night(1, NIGHT_1);
  assert.deepEqual(first.pending, [0, 1, 2, 3]);
  assert.deepEqual(first.got, first.passes);
  const second = await night(2, NIGHT_2);
  assert.deepEqual(second.pending, [0, 1, 2, 3], 'the other sketch’s partials are not reused');
  assert.deepEqual(second.got, second.passes);
  assert.notDeepEqual(second.got, first.got);
});

test('influence audit, parts ≤ reduceGroup: self-scores are influenceSelfPasses’ bit for bit', async () => {
  const { audit, got, passes, ranking } = await influenceAudit(32);
  assert.deepEqual(auditReduceLevels(audit.plan), [7]);
  assert.deepEqual(got, passes);
  const all = passes.flatMap((v) => Array.from(v));
  assert.deepEqual(
    Array.from(ranking.score),
    [...all].sort((a, b) => b - a),
  );
});

test('influence audit in groups of 2: tree steps read at most 2 partials and no features; the scores are the tree-ordered sums’ bit for bit and the left fold’s to 1e-12', async () => {
  const { raw, ctx, audit, ref, got, passes } = await influenceAudit(2);
  const levels = auditReduceLevels(audit.plan);
  assert.deepEqual(levels, [7, 4, 2]);
  const tree = auditCurvatureTree(ctx, audit.plan);
  // The tree's nodes, re-run on a fresh recording store: each reads only its children.
  const { store, take } = recording(raw);
  for (let l = 1; l < levels.length; l++) {
    for (let j = 0; j < levels[l]; j++) {
      const prefix = await tree.nodePrefix(l, j);
      for (const k of await raw.list(`${prefix}/`)) await raw.delete(k);
      await sumAuditCurvatureNode(new RunContext(store), audit.ref.planKey, l, j);
      // The batch plans name the parts' shards; the data read is the children's partials.
      const reads = take().filter((k) => !k.includes('/plans/'));
      noFeatureReads(reads, `L${l}/${j}`);
      const [a, b] = childRange(levels, 2, l, j);
      const children = await Promise.all(
        Array.from({ length: b - a }, (_, i) => tree.nodePrefix(l - 1, a + i)),
      );
      assert.deepEqual(new Set(reads.map((k) => k.split('/_attempts/')[0])), new Set(children));
    }
  }
  // Reference in the tree's order: each part's partials, summed by reduceInTree, factored.
  const gram = CURVATURE_KINDS.gram;
  const C = ref.cks.length;
  const curv = [];
  for (let c = 0; c < C; c++) {
    const leaves = [];
    for (let p = 0; p < 7; p++) leaves.push(await gram.partial(ref.feats[p][c]));
    curv.push(gram.factor(reduceInTree(leaves, 2, gram.merge), { relativeDamping: 0.05 }));
  }
  for (let p = 0; p < 7; p++) {
    const want = new Float64Array(ref.feats[p][0].grads.rows);
    for (let c = 0; c < C; c++) {
      const s = await gram.scores(ref.feats[p][c], curv[c]);
      for (let i = 0; i < s.length; i++) want[i] += ref.cks[c].learningRate * s[i];
    }
    assert.deepEqual(got[p], want, `part ${p}`);
    // The old single left fold sums the same partials in another order: round-off only.
    for (let i = 0; i < want.length; i++) {
      const rel = Math.abs(got[p][i] - passes[p][i]) / Math.abs(passes[p][i]);
      assert.ok(rel <= 1e-12, `part ${p} row ${i}: ${got[p][i]} vs ${passes[p][i]} (${rel})`);
    }
  }
});
