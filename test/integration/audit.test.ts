import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { AuditPlan } from '../../lib/audit/planAudit';
import { type AuditSummary, readRanking } from '../../lib/audit/reportAudit';
import { runAuditInProcess } from '../../lib/audit/runAuditInProcess';
import { importData } from '../../lib/data/import/importData';
import { writePartitioned } from '../../lib/data/partitionedDataset';
import { influenceSelfPasses } from '../../lib/pipeline/influenceSelfPasses';
import type { Plan } from '../../lib/pipeline/types';
import { readCommitted, readManifest } from '../../lib/store/commit';
import { FsStore } from '../../lib/store/fsStore';
import { getJson } from '../../lib/store/objectStore';
import { S3Store } from '../../lib/store/s3Store';
import {
  createAuditSchedule,
  deleteAuditSchedule,
  describeAuditSchedule,
  listAuditSchedules,
  pauseAuditSchedule,
  triggerAuditSchedule,
  unpauseAuditSchedule,
} from '../../workers/auditSchedules';
import { connectClient } from '../../workers/connection';
import { audit as auditWorkflow } from '../../workflows';
import { auditFeatures, auditTracinReference } from '../support/auditReference';
import { ensureStack } from '../support/stack';
import { useTestWorker } from '../support/testWorker';
import { blobs, makeTinyRun } from '../support/tinyRun';

const config = ensureStack();
const s3 = new S3Store(config.s3);
let client: Client;

const taskQueue = useTestWorker(config, 'audit');
before(async () => {
  client = await connectClient(config);
});
after(async () => {
  await client.connection.close();
});

/** Triggers the schedule and waits for the audit it starts. */
async function triggerAndWait(name: string): Promise<AuditSummary> {
  const started = await triggerAuditSchedule(client, name, { waitStartMs: 30_000 });
  assert.ok(started);
  return client.workflow.getHandle(started.workflowId, started.runId).result();
}

const featureManifests = async (specHash: string) =>
  (await s3.list('features/')).filter(
    (k) => k.includes(`/${specHash}/`) && k.endsWith('/MANIFEST.json'),
  );

/** The committed self-score part files of the audits named `name`. */
const partManifests = async (name: string) =>
  (await s3.list(`audits/${name}/parts/`)).filter((k) => k.endsWith('/MANIFEST.json'));

test('a scheduled audit of a growing set: report, then only new shards featurized, comparison', async () => {
  const run = randomUUID();
  const prefix = `it/${run}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 60, queryRows: 4 });
  // Names unique to this run make the parts' bytes (and so the feature addresses) new.
  const night1 = blobs(`night-1-${run}`, 70, 6, 21);
  const night2 = blobs(`night-2-${run}`, 45, 6, 22);
  await writePartitioned(s3, `${prefix}/incoming/2025-01-01`, night1, 40);
  const name = `it-${run.slice(0, 8)}`;
  const audit = {
    name,
    data: `${prefix}/incoming`,
    checkpoints: spec.checkpoints,
    projector: { kind: 'gaussian' as const, k: 8, seed: 1 },
    topK: 10,
    shardSize: 25,
    batchSize: 16,
  };
  // Midnight on January 1st: never fires during the test.
  await createAuditSchedule(client, { audit, cron: '0 0 1 1 *', taskQueue });
  try {
    const first = await triggerAndWait(name);
    // Parts of 40 + 30 rows in shards of ≤ 25: 4 shards × 3 checkpoints.
    assert.deepEqual(first.featurize, { total: 12, featurized: 12, reused: 0 });
    assert.equal(first.rows, 70);
    assert.equal(first.comparison, null);
    assert.ok(first.prefix.startsWith(`audits/${name}/`));
    const m1 = await readManifest<AuditSummary>(s3, first.prefix);
    assert.deepEqual(m1?.meta, first);
    assert.deepEqual(Object.keys(m1?.files ?? {}).sort(), [
      'ranking.arrow',
      'report.html',
      'summary.json',
    ]);
    const html = new TextDecoder().decode(await readCommitted(s3, first.prefix, 'report.html'));
    assert.match(html, /Suspected mislabels/);

    // The workflow reproduces the in-process audit exactly (same data on a local store).
    const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-audit-it-')));
    await makeTinyRun(local, prefix, { trainRows: 60, queryRows: 4 });
    await writePartitioned(local, `${prefix}/incoming/2025-01-01`, night1, 40);
    const reference = await runAuditInProcess(local, audit, first.time);
    const r1 = readRanking(await readCommitted(s3, first.prefix, 'ranking.arrow'));
    const ref1 = readRanking(await readCommitted(local, reference.prefix, 'ranking.arrow'));
    assert.deepEqual(r1, ref1);
    assert.deepEqual(first.top, reference.top);
    // And the scores are TracIn's self-influence over the feature files in S3, as the report
    // computed it in one process before the parts: the same bits.
    const want = (await auditTracinReference(s3, first.files.plan)).flatMap((v) => Array.from(v));
    assert.deepEqual(
      Array.from(r1.score),
      want.sort((a, b) => b - a),
    );
    assert.deepEqual(first.selfScoreParts, { total: 4, computed: 4, reused: 0 });
    const partsBefore = new Set(await partManifests(name));
    assert.equal(partsBefore.size, 4);

    // The next night's data arrives; the second audit featurizes only its shards.
    const plan = await getJson<AuditPlan>(s3, first.files.plan);
    const before = new Set(await featureManifests(plan.featureSpecHash));
    await writePartitioned(s3, `${prefix}/incoming/2025-01-02`, night2, 40);
    const second = await triggerAndWait(name);
    // 40 + 5 rows: 3 new shards × 3 checkpoints; the first night's 12 files are reused.
    assert.deepEqual(second.featurize, { total: 21, featurized: 9, reused: 12 });
    const added = (await featureManifests(plan.featureSpecHash)).filter((k) => !before.has(k));
    assert.equal(added.length, 9);
    const plan2 = await getJson<AuditPlan>(s3, second.files.plan);
    const night2Plan = await getJson<Plan>(s3, plan2.batches[1].planKey);
    const night2Shards = new Set(night2Plan.train.shards.map((s) => s.hash));
    for (const k of added) assert.ok(night2Shards.has(k.split('/')[3]), k);
    // Only the new parts were self-scored: the first night's four part files are reused.
    assert.deepEqual(second.selfScoreParts, { total: 7, computed: 3, reused: 4 });
    const partsAfter = await partManifests(name);
    assert.equal(partsAfter.filter((k) => !partsBefore.has(k)).length, 3);
    assert.ok([...partsBefore].every((k) => partsAfter.includes(k)));
    const r2want = (await auditTracinReference(s3, second.files.plan)).flatMap((v) =>
      Array.from(v),
    );

    // The ranking covers both nights; the comparison with the first audit is there.
    const r2 = readRanking(await readCommitted(s3, second.prefix, 'ranking.arrow'));
    assert.equal(r2.score.length, 115);
    assert.deepEqual(
      Array.from(r2.score),
      r2want.sort((a, b) => b - a),
    );
    assert.deepEqual(r2.batches, ['2025-01-01', '2025-01-02']);
    assert.equal(second.previous?.stamp, first.stamp);
    assert.deepEqual(second.newData.batches, ['2025-01-02']);
    const cmp = second.comparison;
    assert.ok(cmp);
    assert.equal(cmp.drift.compared, 70);
    assert.equal(cmp.drift.maxAbsDelta, 0, 'same model: old scores do not move');
    for (const e of cmp.entered) assert.equal(e.newData, true);
    assert.equal(second.history[0].topOverlap, 10 - cmp.entered.length);
    const index = await getJson<{ audits: { stamp: string }[] }>(s3, `audits/${name}/index.json`);
    assert.deepEqual(
      index.audits.map((a) => a.stamp),
      [first.stamp, second.stamp],
    );

    // List, pause, unpause.
    const listed = (await listAuditSchedules(client)).find((s) => s.name === name);
    assert.ok(listed, 'listed');
    assert.deepEqual(listed.cron, ['0 0 1 1 *']);
    assert.equal(listed.paused, false);
    assert.equal(listed.actionsTaken, 2);
    assert.equal(listed.recent.length, 2);
    await pauseAuditSchedule(client, name, 'maintenance');
    const paused = await describeAuditSchedule(client, name);
    assert.equal(paused.paused, true);
    assert.equal(paused.note, 'maintenance');
    await unpauseAuditSchedule(client, name);
    assert.equal((await describeAuditSchedule(client, name)).paused, false);
  } finally {
    await deleteAuditSchedule(client, name);
  }
  await assert.rejects(describeAuditSchedule(client, name), /no audit schedule named/);
  await assert.rejects(deleteAuditSchedule(client, name), /no audit schedule named/);
});

test('an audit of a missing data prefix fails at once, non-retryably, with no report', async () => {
  const run = randomUUID();
  const prefix = `it/${run}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 30, queryRows: 4 });
  const name = `it-bad-${run.slice(0, 8)}`;
  const audit = { name, data: `${prefix}/nowhere`, checkpoints: spec.checkpoints };
  await assert.rejects(
    createAuditSchedule(client, { audit: { ...audit, topK: 0 }, cron: '0 2 * * *', taskQueue }),
    /topK/,
  );
  await assert.rejects(
    createAuditSchedule(client, { audit, cron: 'nightly', taskQueue }),
    /cron: expected expressions/,
  );
  await createAuditSchedule(client, { audit, cron: '0 0 1 1 *', taskQueue });
  try {
    await assert.rejects(
      createAuditSchedule(client, { audit, cron: '0 0 1 1 *', taskQueue }),
      /exists already/,
    );
    await assert.rejects(triggerAndWait(name), (e: unknown) => {
      assert.ok(e instanceof WorkflowFailedError, String(e));
      const activity = e.cause;
      assert.ok(activity instanceof ActivityFailure, String(activity));
      const cause = activity.cause;
      assert.ok(cause instanceof ApplicationFailure, String(cause));
      assert.equal(cause.nonRetryable, true);
      assert.match(cause.message, /data: no data sets under/);
      assert.match(cause.message, /nowhere/);
      return true;
    });
  } finally {
    await deleteAuditSchedule(client, name);
  }
  const keys = await s3.list(`audits/${name}/`);
  assert.deepEqual(
    keys.filter((k) => k.endsWith('MANIFEST.json')),
    [],
  );
});

test('a large audit continues as new between featurize tasks and still counts them all', async () => {
  const run = randomUUID();
  const prefix = `it/${run}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 30, queryRows: 4 });
  await writePartitioned(s3, `${prefix}/in/a`, blobs(`a-${run}`, 50, 6, 5), 25);
  const name = `it-can-${run.slice(0, 8)}`;
  const handle = await client.workflow.start(auditWorkflow, {
    taskQueue,
    workflowId: `audit-${name}`,
    args: [
      {
        audit: { name, data: `${prefix}/in`, checkpoints: spec.checkpoints, shardSize: 10 },
        tasksPerRun: 4,
        window: 2,
      },
    ],
  });
  const summary = await handle.result();
  // Parts of 25 rows in shards of ≤ 10: 6 shards × 3 checkpoints = 18 tasks, 4 per run.
  assert.deepEqual(summary.featurize, { total: 18, featurized: 18, reused: 0 });
  assert.equal(summary.rows, 50);
  const first = await client.workflow
    .getHandle(handle.workflowId, handle.firstExecutionRunId)
    .describe();
  assert.equal(first.status.name, 'CONTINUED_AS_NEW');
  const last = await client.workflow.getHandle(handle.workflowId).describe();
  assert.notEqual(last.runId, handle.firstExecutionRunId);
  assert.equal(summary.prefix.split('/')[1], name);
});

test("an influence-ranked audit sums its parts' curvature as a tree of activities and equals the in-process audit and the one-process passes", async () => {
  const run = randomUUID();
  const prefix = `it/${run}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 30, queryRows: 4 });
  const data = blobs(`if-${run}`, 50, 6, 7);
  await writePartitioned(s3, `${prefix}/in/a`, data, 25);
  const name = `it-if-${run.slice(0, 8)}`;
  const selfScore = { kind: 'influence' as const, layers: 'all' as const, relativeDamping: 0.05 };
  // 6 parts in groups of 2: levels [6, 3, 2], so inner-level steps run as activities.
  const audit = {
    name,
    data: `${prefix}/in`,
    checkpoints: spec.checkpoints,
    projector: { kind: 'gaussian' as const, k: 8, seed: 1 },
    selfScore,
    shardSize: 10,
    reduceGroup: 2,
    topK: 5,
  };
  const summary = await client.workflow.execute(auditWorkflow, {
    taskQueue,
    workflowId: `audit-${name}`,
    args: [{ audit, window: 3 }],
  });
  assert.deepEqual(summary.selfScoreParts, { total: 6, computed: 6, reused: 0 });
  assert.ok(await s3.exists(`${summary.prefix}/curvature/L1/000002/MANIFEST.json`));
  assert.ok(await s3.exists(`${summary.prefix}/curvature/factored/MANIFEST.json`));
  const ranking = readRanking(await readCommitted(s3, summary.prefix, 'ranking.arrow'));

  const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-audit-if-it-')));
  await makeTinyRun(local, prefix, { trainRows: 30, queryRows: 4 });
  await writePartitioned(local, `${prefix}/in/a`, data, 25);
  const reference = await runAuditInProcess(local, audit, summary.time);
  assert.deepEqual(
    ranking,
    readRanking(await readCommitted(local, reference.prefix, 'ranking.arrow')),
  );
  // The one-process passes (one left fold over the parts, as the report computed it before):
  // the same to round-off of the sums' order.
  const { feats, cks } = await auditFeatures(s3, summary.files.plan);
  const passes = await influenceSelfPasses({
    parts: feats.length,
    checkpoints: cks,
    read: async (p, c) => feats[p][c],
    curvature: { relativeDamping: 0.05 },
  });
  const want = passes.flatMap((v) => Array.from(v)).sort((a, b) => b - a);
  ranking.score.forEach((x, r) => {
    assert.ok(Math.abs(x - want[r]) <= 1e-12 * Math.abs(want[r]), `rank ${r}: ${x} vs ${want[r]}`);
  });
});

test('an audit watching an S3 prefix of raw files imports a new JSONL batch and rejects a CSV with a bad value once, non-retryably', async () => {
  const run = randomUUID();
  const prefix = `it/${run}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 30, queryRows: 4 });
  const table = (ds: ReturnType<typeof blobs>, base: number) =>
    Array.from({ length: ds.rows }, (_, i) => {
      const row: Record<string, string | number> = { id: `e${base + i}` };
      for (let j = 0; j < 6; j++) row[`f${j}`] = ds.x![i * 6 + j];
      row.label = ds.classes[ds.labels[i]];
      return row;
    });
  const csv = (rows: Record<string, string | number>[]) =>
    [Object.keys(rows[0]).join(','), ...rows.map((r) => Object.values(r).join(','))].join('\n');
  // The first data set, imported from S3 by tda import's library: its encoding is the schema.
  await s3.put(`${prefix}/raw0/initial.csv`, csv(table(blobs('i', 40, 6, 41), 0)));
  await importData(
    `s3://${config.s3.bucket}/${prefix}/raw0/initial.csv`,
    s3,
    `${prefix}/batches/0-initial`,
    { label: 'label', id: 'id' },
    config,
  );
  await s3.put(
    `${prefix}/landing/2025-02-01.jsonl`,
    table(blobs('d1', 20, 6, 42), 100)
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const bad = table(blobs('d2', 10, 6, 43), 200);
  bad[2].f2 = 'n/a';
  await s3.put(`${prefix}/landing/2025-02-02.csv`, csv(bad));

  const workflowId = `audit-raw-${run}`;
  const summary = await client.workflow.execute(auditWorkflow, {
    taskQueue,
    workflowId,
    args: [
      {
        audit: {
          name: `it-raw-${run.slice(0, 8)}`,
          data: `${prefix}/batches`,
          checkpoints: spec.checkpoints,
          shardSize: 25,
          topK: 5,
          raw: { prefix: `${prefix}/landing`, like: `${prefix}/batches/0-initial` },
        },
      },
    ],
  });
  assert.deepEqual(
    summary.batches.map((b) => [b.name, b.rows]),
    [
      ['0-initial', 40],
      ['2025-02-01', 20],
    ],
  );
  assert.equal(summary.rejectedFiles?.length, 1);
  assert.match(
    summary.rejectedFiles![0].error,
    /landing\/2025-02-02\.csv row 3 column "f2": "n\/a" is not a number/,
  );
  assert.equal(await s3.exists(`${prefix}/batches/2025-02-02/MANIFEST.json`), false);
  // The bad file's import failed once, non-retryably; the good one was imported.
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
  assert.equal(failed.length, 1);
  const f = failed[0].activityTaskFailedEventAttributes!.failure!;
  assert.equal(f.applicationFailureInfo?.nonRetryable, true);
  assert.match(f.message ?? '', /2025-02-02\.csv row 3 column "f2"/);
  const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
  assert.ok(started.every((e) => (e.activityTaskStartedEventAttributes!.attempt ?? 1) === 1));
});
