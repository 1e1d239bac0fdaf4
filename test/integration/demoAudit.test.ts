import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { runDemoAudit } from '../../cli/demo';
import { demoAuditJson, demoAuditLines } from '../../cli/demoSummary';
import { readAuditPlan } from '../../lib/audit/planAudit';
import { readFoldScores } from '../../lib/audit/trainFold';
import { flipLabels } from '../../lib/data/labelNoise';
import { writePartitioned } from '../../lib/data/partitionedDataset';
import { mislabelReport } from '../../lib/eval/mislabel';
import { CLEANLAB_FASHION_MNIST } from '../../lib/eval/recordedBaselines';
import { mainJobAudit } from '../../lib/jobs/mainJob';
import { S3Store } from '../../lib/store/s3Store';
import { initBackend } from '../../lib/tf/backend';
import { connectClient } from '../../workers/connection';
import { ensureStack } from '../support/stack';
import { blobs, makeTinyRun } from '../support/tinyRun';
import { exited, spawnWorkerProcess } from '../support/workerProcess';

const config = ensureStack();
const s3 = new S3Store(config.s3);
// makeTinyRun trains the audited model in this process.
await initBackend(config.backend, () => {});

test("npm start's audit stage ranks by out-of-fold self-confidence over the fold checkpoints through Temporal, and reports that ranking's detection", async () => {
  const run = randomUUID();
  const prefix = `it-demo-audit/${run}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 30, queryRows: 4 });
  const data = flipLabels(blobs(`demo-${run}`, 600, 6, 31), 0.1, 5);
  await writePartitioned(s3, `${prefix}/batches/flips`, data, 300);
  // The main job's audit, on a small model and data set: its ranking and self-score as they are.
  const main = mainJobAudit();
  const audit = {
    ...main,
    name: `demo-${run.slice(0, 8)}`,
    data: `${prefix}/batches`,
    checkpoints: spec.checkpoints,
    shardSize: 300,
    batchSize: 64,
    topK: 60,
    outOfFold: {
      ...main.outOfFold,
      folds: 3,
      architecture: { kind: 'mlp' as const, hidden: [16] },
      epochs: 12,
      checkpointEvery: 4,
      learningRate: 0.05,
      batchSize: 16,
    },
  };
  const queue = `demo-audit-${run}`;
  const worker = spawnWorkerProcess({ queue, concurrency: 2, onLine: () => {} });
  const client = await connectClient(config);
  try {
    await worker.ready;
    const got = await runDemoAudit(
      { ...config, taskQueues: { ...config.taskQueues, cpu: queue } },
      client,
      s3,
      audit,
      () => {},
    );
    assert.equal(got.summary.outOfFold?.rankBy, 'selfConfidenceCheckpoints');

    // The definition, from what the folds committed: each row's 1 − p(given label) averaged over
    // its fold model's checkpoints.
    const plan = await readAuditPlan(s3, got.summary.files.plan);
    const confidence = new Float64Array(plan.rows).fill(Number.NaN);
    for (let f = 0; f < 3; f++) {
      const { scores } = await readFoldScores(s3, plan, f);
      scores.row.forEach((r, j) => {
        confidence[r] = scores.selfConfidenceCheckpoints[j];
      });
    }
    const flipped = Array.from(data.flipped as Uint8Array, (f) => f === 1);
    const want = mislabelReport(confidence, flipped);
    assert.deepEqual(got.detection.foundAt, want.foundAt);
    assert.ok(Math.abs(got.detection.auc - want.auc) < 1e-12);
    assert.equal(got.detection.flippedTotal, 60);

    // What npm start prints and writes: the ranking by name, its figures, the fold models, the
    // classes, and cleanlab's recorded figure with where it comes from.
    const shown = { ...got, peer: CLEANLAB_FASHION_MNIST };
    const text = demoAuditLines(shown).join('\n');
    assert.match(
      text,
      /ranked by out-of-fold self-confidence averaged over the fold model's checkpoints:/,
    );
    const at10 = want.foundAt.find((x) => x.fraction === 0.1)?.found as number;
    assert.ok(text.includes(`(${(100 * at10).toFixed(1)}%) are in the top 10%`), text);
    assert.match(text, /fold models \(3\): held-out accuracy/);
    assert.match(text, /suspects per class in the top 60: a \d+, b \d+, c \d+/);
    assert.ok(text.includes(`${CLEANLAB_FASHION_MNIST.source}, recorded): 90.2% at 10%`), text);
    const json = demoAuditJson(shown);
    assert.equal(json.found_at_10pct, at10);
    assert.equal(json.rank_by, 'selfConfidenceCheckpoints');
    assert.equal(json.fold_heldout_accuracy, got.summary.outOfFold?.accuracy);
  } finally {
    await client.connection.close();
    worker.child.kill('SIGTERM');
    await exited(worker.child);
  }
});
