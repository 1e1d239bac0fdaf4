import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRanking } from '../../lib/audit/reportAudit';
import { runAuditInProcess } from '../../lib/audit/runAuditInProcess';
import { writePartitioned } from '../../lib/data/partitionedDataset';
import { readCommitted } from '../../lib/store/commit';
import { FsStore } from '../../lib/store/fsStore';
import { S3Store } from '../../lib/store/s3Store';
import { initBackend } from '../../lib/tf/backend';
import { connectClient } from '../../workers/connection';
import { audit as auditWorkflow } from '../../workflows';
import { ensureStack } from '../support/stack';
import { blobs, makeTinyRun } from '../support/tinyRun';
import { withWorkerCrash } from '../support/workerProcess';

const config = ensureStack();
const s3 = new S3Store(config.s3);
// The reference runs here on the backend the worker processes use.
await initBackend(config.backend, () => {});

test('an out-of-fold audit whose worker is killed mid-training resumes the folds from their checkpoints, with the scores of an uninterrupted run', async () => {
  const run = randomUUID();
  const prefix = `it-oof/${run}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 30, queryRows: 4 });
  // A name unique to this run makes the parts' bytes (and so the folds' addresses) new.
  const data = blobs(`oof-${run}`, 600, 6, 31);
  await writePartitioned(s3, `${prefix}/incoming/2025-01-01`, data, 300);
  const name = `oof-${run.slice(0, 8)}`;
  const audit = {
    name,
    data: `${prefix}/incoming`,
    checkpoints: spec.checkpoints,
    projector: { kind: 'gaussian' as const, k: 8, seed: 1 },
    topK: 30,
    shardSize: 300,
    batchSize: 64,
    outOfFold: {
      folds: 3,
      architecture: { kind: 'mlp' as const, hidden: [16] },
      epochs: 40,
      checkpointEvery: 4,
      learningRate: 0.05,
      batchSize: 16,
      rankBy: 'rankAverage' as const,
    },
  };
  const queue = `oof-crash-${run}`;
  const client = await connectClient(config);
  try {
    await withWorkerCrash(queue, async (crash) => {
      const handle = await client.workflow.start(auditWorkflow, {
        taskQueue: queue,
        workflowId: `oof-crash-${run}`,
        args: [{ audit, foldHeartbeatTimeout: '3s' }],
      });
      // Kill the worker as soon as a fold has saved a checkpoint (and is still training).
      const folds = `audits/${name}/folds/`;
      await crash.killWhen(
        async () => (await s3.list(folds)).some((k) => k.endsWith('.state')),
        'a fold saving a checkpoint',
      );
      const committedBefore = (await s3.list(folds)).filter((k) => k.endsWith('MANIFEST.json'));
      assert.ok(committedBefore.length < 3, 'the worker was killed before every fold finished');

      await crash.restart();
      const summary = await handle.result();
      assert.equal(summary.outOfFold?.folds, 3);
      assert.ok(
        summary.outOfFold?.resumedFrom.some((s) => s > 0),
        `a fold resumed from a saved step: ${summary.outOfFold?.resumedFrom}`,
      );
      assert.match(summary.method, /rank average of out-of-fold/);

      // The same audit uninterrupted, in this process on a local store: identical scores.
      const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-oof-it-')));
      await makeTinyRun(local, prefix, { trainRows: 30, queryRows: 4 });
      await writePartitioned(local, `${prefix}/incoming/2025-01-01`, data, 300);
      const reference = await runAuditInProcess(local, audit, summary.time);
      assert.deepEqual(reference.outOfFold?.resumedFrom, [0, 0, 0]);
      assert.deepEqual(reference.outOfFold?.foldAccuracy, summary.outOfFold?.foldAccuracy);
      const got = readRanking(await readCommitted(s3, summary.prefix, 'ranking.arrow'));
      const want = readRanking(await readCommitted(local, reference.prefix, 'ranking.arrow'));
      assert.deepEqual(got, want);
      assert.deepEqual(summary.top, reference.top);
      assert.deepEqual(summary.classes, reference.classes);
    });
  } finally {
    await client.connection.close();
  }
});
