import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { listAudits } from '../../../lib/audit/auditIndex';
import type { AuditInput } from '../../../lib/audit/auditSpec';
import { listBatches } from '../../../lib/audit/batches';
import { readRanking } from '../../../lib/audit/reportAudit';
import { runAuditInProcess } from '../../../lib/audit/runAuditInProcess';
import { writePartitioned } from '../../../lib/data/partitionedDataset';
import { checkpointPrefix, readCheckpointManifest } from '../../../lib/model/checkpoints';
import { loadModel } from '../../../lib/model/storeIO';
import { scoreInMemory } from '../../../lib/pipeline/scoreInMemory';
import { readCommitted, readManifest } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { getJson } from '../../../lib/store/objectStore';
import { initBackend } from '../../../lib/tf/backend';
import { blobs, makeTinyRun } from '../../support/tinyRun';

await initBackend('cpu', () => {});

/** Independent reference: ‖∇ loss_i‖² by ordinary autodiff on a batch of one, float64 sum. */
function naiveSqNorm(model: tfl.LayersModel, x: Float32Array, y: number): number {
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { grads, value } = tf.variableGrads(() => {
    const out = model.apply(tf.tensor2d(x, [1, x.length]), { training: false }) as tf.Tensor;
    const logp = tf.logSoftmax(out);
    return tf.neg(tf.sum(tf.mul(logp, tf.oneHot([y], out.shape[1] as number)))) as tf.Scalar;
  }, vars);
  let s = 0;
  for (const g of Object.values(grads)) for (const v of g.dataSync()) s += v * v;
  tf.dispose([value, ...Object.values(grads)]);
  return s;
}

test('audits of a growing set: only new shards featurized, exact self-influence, comparison', async () => {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-audit-')));
  const spec = await makeTinyRun(store, 'm', { trainRows: 60, queryRows: 4 });
  const d1 = blobs('night-1', 70, 6, 21);
  const d2 = blobs('night-2', 45, 6, 22);
  await writePartitioned(store, 'incoming/2025-01-01', d1, 40);
  const input = {
    name: 'nightly',
    data: 'incoming',
    checkpoints: spec.checkpoints,
    projector: { kind: 'gaussian', k: 8, seed: 1 },
    topK: 10,
    shardSize: 25,
    batchSize: 16,
  };
  const first = await runAuditInProcess(store, input, '2025-01-01T02:00:00.000Z');
  // Parts of 40 + 30 rows in shards of ≤ 25: 2 + 2 shards, × 3 checkpoints.
  assert.deepEqual(first.featurize, { total: 12, featurized: 12, reused: 0 });
  assert.equal(first.rows, 70);
  assert.equal(first.prefix, 'audits/nightly/20250101T020000000Z');
  assert.equal(first.previous, null);
  assert.equal(first.comparison, null);
  assert.deepEqual(first.newData.batches, ['2025-01-01']);

  // Self-influence against autodiff at every checkpoint: Σ_c η_c ‖g_i(θ_c)‖².
  const manifest = await readCheckpointManifest(store, spec.checkpoints);
  const models = await Promise.all(
    manifest.checkpoints.map((c) => loadModel(store, checkpointPrefix(spec.checkpoints, c))),
  );
  const ranking = readRanking(await readCommitted(store, first.prefix, 'ranking.arrow'));
  assert.equal(ranking.score.length, 70);
  for (let r = 0; r < 70; r += 7) {
    const i = ranking.id[r];
    let ref = 0;
    manifest.checkpoints.forEach((c, k) => {
      ref +=
        c.learningRate * naiveSqNorm(models[k], d1.x!.subarray(i * 6, i * 6 + 6), d1.labels[i]);
    });
    assert.ok(
      Math.abs(ranking.score[r] - ref) <= 1e-4 * Math.max(1, ref),
      `row ${r}: ${ranking.score[r]} vs ${ref}`,
    );
  }
  for (let r = 1; r < 70; r++) assert.ok(ranking.score[r] <= ranking.score[r - 1]);
  assert.deepEqual(
    first.top.map((t) => t.score),
    Array.from(ranking.score.subarray(0, 10)),
  );

  // The next night: a second batch; the first batch's features are found, not recomputed.
  await writePartitioned(store, 'incoming/2025-01-02', d2, 40);
  const featureManifests = async () =>
    (await store.list('features/')).filter((k) => k.endsWith('/MANIFEST.json'));
  const before = await featureManifests();
  const second = await runAuditInProcess(store, input, '2025-01-02T02:00:00.000Z');
  // 40 + 5 rows: 2 + 1 shards × 3 checkpoints new; 12 reused.
  assert.deepEqual(second.featurize, { total: 21, featurized: 9, reused: 12 });
  assert.equal((await featureManifests()).length - before.length, 9);
  assert.equal(second.rows, 115);
  assert.deepEqual(second.newData.batches, ['2025-01-02']);
  assert.equal(second.newData.rows, 45);
  assert.equal(second.previous?.stamp, '20250101T020000000Z');
  const cmp = second.comparison!;
  // Same model: the old examples' scores did not move; whatever entered the top is new data.
  assert.equal(cmp.drift.compared, 70);
  assert.equal(cmp.drift.maxAbsDelta, 0);
  for (const e of cmp.entered) assert.equal(e.newData, true);
  assert.equal(cmp.entered.length, cmp.left.length);
  assert.equal(second.newData.inTop, cmp.entered.length);
  const r2 = readRanking(await readCommitted(store, second.prefix, 'ranking.arrow'));
  assert.deepEqual(r2.batches, ['2025-01-01', '2025-01-02']);
  assert.equal(r2.score.length, 115);
  assert.deepEqual(
    second.history.map((h) => h.stamp),
    ['20250101T020000000Z'],
  );
  assert.equal(second.history[0].topOverlap, 10 - cmp.entered.length);
  const html = new TextDecoder().decode(await readCommitted(store, second.prefix, 'report.html'));
  assert.match(html, /Audit &quot;nightly&quot;|Audit "nightly"/);

  // A repeated audit at the same time returns the committed one; the index lists both.
  assert.deepEqual(await runAuditInProcess(store, input, '2025-01-02T02:00:00.000Z'), second);
  // The same name and time for another self-score: the committed report is not served.
  await assert.rejects(
    runAuditInProcess(
      store,
      { ...input, selfScore: { kind: 'influence' } },
      '2025-01-02T02:00:00.000Z',
    ),
    /plan\.json holds a result computed for a different spec .*spec\.selfScore/,
  );
  assert.deepEqual(
    (await listAudits(store, 'nightly')).map((a) => a.stamp),
    ['20250101T020000000Z', '20250102T020000000Z'],
  );
  const index = await getJson<{ audits: { stamp: string; featurized: number }[] }>(
    store,
    'audits/nightly/index.json',
  );
  assert.deepEqual(
    index.audits.map((a) => a.featurized),
    [12, 9],
  );

  // Bad input: clear errors, nothing committed.
  await assert.rejects(
    runAuditInProcess(store, { ...input, data: 'nowhere' }, '2025-01-03T00:00:00Z'),
    /data: no data sets under "nowhere\/"/,
  );
  await assert.rejects(
    runAuditInProcess(store, { ...input, topK: 0 }, '2025-01-03T00:00:00Z'),
    /topK/,
  );
  await assert.rejects(
    runAuditInProcess(store, { ...input, checkpoints: 'm/none.json' }, '2025-01-03T00:00:00Z'),
    /checkpoints: no object at key "m\/none.json"/,
  );
  assert.equal(await readManifest(store, 'audits/nightly/20250103T000000000Z'), undefined);
  for (const m of models) m.dispose();
});

test('an audit ranked by the influence self-score equals the in-memory runner on the same data', async () => {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-audit-if-')));
  const spec = await makeTinyRun(store, 'm', { trainRows: 60, queryRows: 4 });
  await writePartitioned(store, 'incoming/2025-01-01', blobs('night-1', 70, 6, 21), 40);
  const projector = { kind: 'gaussian' as const, k: 8, seed: 1, dtype: 'float32' as const };
  const selfScore = { kind: 'influence' as const, layers: 'all' as const, relativeDamping: 0.05 };
  const audit = await runAuditInProcess(
    store,
    {
      name: 'nightly-if',
      data: 'incoming',
      checkpoints: spec.checkpoints,
      projector,
      selfScore,
      topK: 10,
      shardSize: 25,
      batchSize: 16,
    },
    '2025-01-01T02:00:00.000Z',
  );
  assert.match(audit.method, /influence self-influence over checkpoints \(all layers/);
  const mem = await scoreInMemory(store, {
    checkpoints: spec.checkpoints,
    train: 'incoming/2025-01-01',
    query: spec.query,
    method: 'gradDot',
    featurize: { projector, batchSize: 16 },
    selfScore,
  });
  const ranking = readRanking(await readCommitted(store, audit.prefix, 'ranking.arrow'));
  assert.equal(ranking.score.length, 70);
  for (let r = 0; r < 70; r++) {
    const want = mem.selfInfluence[ranking.id[r]];
    assert.ok(
      Math.abs(ranking.score[r] - want) <= 1e-4 * want,
      `rank ${r} (row ${ranking.id[r]}): ${ranking.score[r]} vs ${want}`,
    );
  }
  // An unknown layer is named at plan time, and no report is committed.
  const bad = (selfScore: AuditInput['selfScore']) =>
    runAuditInProcess(
      store,
      {
        name: 'nightly-bad',
        data: 'incoming',
        checkpoints: spec.checkpoints,
        projector,
        selfScore,
      },
      '2025-01-01T03:00:00.000Z',
    );
  await assert.rejects(
    bad({ kind: 'influence', layers: { names: ['nope'] } }),
    /selfScore.layers: "nope" not among the featurized layers \(hidden, logits\)/,
  );
  assert.equal(await readManifest(store, 'audits/nightly-bad/20250101T030000000Z'), undefined);
  // A sketch reads stored factors, which a dense random projection does not keep; and it is
  // for the Gram curvature.
  for (const [selfScore, message] of [
    [
      { kind: 'influence', sketch: { k1: 4, k2: 2 } },
      /^selfScore\.sketch: reads the layers' stored factors, which projector gaussian does not store/,
    ],
    [
      { kind: 'influence', curvature: 'kfac', sketch: { k1: 4, k2: 2 } },
      /^selfScore\.sketch: sketches the Gram curvature; K-FAC/,
    ],
  ] as const) {
    await assert.rejects(
      bad(selfScore),
      (e: Error) => e.name === 'InputError' && message.test(e.message),
    );
  }
});

test('listBatches sees committed batches only, in name order, and checks they agree', async () => {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-batches-')));
  await writePartitioned(store, 'in/b', blobs('b', 5, 6, 1), 10);
  await writePartitioned(store, 'in/a', blobs('a', 7, 6, 1), 10);
  await store.put('in/c/_attempts/x/part-00000.arrow', 'half-written');
  assert.deepEqual(
    (await listBatches(store, 'in/')).map((b) => [b.name, b.info.rows]),
    [
      ['a', 7],
      ['b', 5],
    ],
  );
  await writePartitioned(store, 'in/d', blobs('d', 5, 4, 1), 10);
  await assert.rejects(
    listBatches(store, 'in'),
    /batch "d" has examples of shape \[4\], batch "a" \[6\]/,
  );
});
