import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import * as tfl from '@tensorflow/tfjs-layers';
import { writePartitioned } from '../../lib/data/partitionedDataset';
import { readCheckpointManifest } from '../../lib/model/checkpoints';
import { saveModel } from '../../lib/model/storeIO';
import { runInProcess } from '../../lib/pipeline/runInProcess';
import type { RunSpecInput } from '../../lib/pipeline/runSpec';
import { buildReport } from '../../lib/report/buildReport';
import { renderReport } from '../../lib/report/renderReport';
import { FsStore } from '../../lib/store/fsStore';
import type { ObjectStore } from '../../lib/store/objectStore';
import { S3Store } from '../../lib/store/s3Store';
import { connectClient } from '../../workers/connection';
import { ensureBackend } from '../../workers/worker';
import { attribute } from '../../workflows';
import { readRunResults } from '../support/runResults';
import { ensureStack } from '../support/stack';
import { useTestWorker } from '../support/testWorker';
import { blobs } from '../support/tinyRun';

/**
 * A user's own Keras model, end to end against the real stack: two Keras 3 checkpoints (made by
 * Keras, test/fixtures/keras) lie on the local S3 server, `tda model add` registers them from s3://, and
 * the attribute workflow runs over them through Temporal, equal to the in-process runner.
 */

const config = ensureStack();
const s3 = new S3Store(config.s3);
before(() => ensureBackend(config));
const taskQueue = useTestWorker(config, 'model-add');

const TDA = fileURLToPath(new URL('../../bin/tda', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/keras/', import.meta.url));
const tda = (...args: string[]) =>
  spawnSync(TDA, args, {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, TDA_BACKEND: 'cpu' },
  });

async function execute(spec: RunSpecInput) {
  const client = await connectClient(config);
  try {
    return await client.workflow.execute(attribute, {
      taskQueue,
      workflowId: `model-add-${randomUUID()}`,
      args: [{ spec }],
    });
  } finally {
    await client.connection.close();
  }
}

test('Keras checkpoints on S3: tda model add registers them and the attribute workflow runs on them', async () => {
  const prefix = `it/${randomUUID()}`;
  const url = (key: string) => `s3://${config.s3.bucket}/${prefix}/${key}`;
  for (const f of ['mlp_sequential.keras', 'mlp_sequential.step2.keras']) {
    await s3.put(`${prefix}/user/${f}`, new Uint8Array(readFileSync(`${FIXTURES}${f}`)));
  }
  // The same data and model on S3 (for Temporal) and in a local store (for the in-process
  // reference); the fixture MLP takes 6 features to 3 logits.
  const localDir = mkdtempSync(join(tmpdir(), 'tda-model-add-'));
  const local = new FsStore(localDir);
  const manifestKey = `${prefix}/model/checkpoints.json`;
  for (const [store, storeArg] of [
    [s3, []],
    [local, ['--store', localDir]],
  ] as [ObjectStore, string[]][]) {
    await writePartitioned(store, `${prefix}/train`, blobs('train', 90, 6, 1), 40);
    await writePartitioned(store, `${prefix}/query`, blobs('query', 6, 6, 2), 8);
    const r = tda(
      'model',
      'add',
      '--checkpoint',
      `${url('user/mlp_sequential.keras')}:100:0.1`,
      '--checkpoint',
      `${url('user/mlp_sequential.step2.keras')}:200:0.05`,
      '--out',
      manifestKey,
      ...storeArg,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^hidden +Dense +56 +yes +yes$/m);
    assert.match(r.stdout, /^dropout +Dropout +0 +pass-through$/m);
  }
  const m = await readCheckpointManifest(s3, manifestKey, { verifyHashes: true });
  assert.deepEqual(
    m.checkpoints.map((c) => [c.step, c.learningRate]),
    [
      [100, 0.1],
      [200, 0.05],
    ],
  );
  assert.notEqual(m.checkpoints[0].hash, m.checkpoints[1].hash);

  const spec: RunSpecInput = {
    name: 'keras-mlp',
    checkpoints: manifestKey,
    train: `${prefix}/train`,
    query: `${prefix}/query`,
    method: 'tracin',
    projector: { kind: 'kronecker', k1: 4, k2: 3, seed: 7 },
    topK: 4,
    // Whole batches per shard, so the pipeline batches rows exactly as the in-process runner
    // does: on native TensorFlow a row's gradient can differ in its last bits with its batch's size.
    shardSize: 48,
    batchSize: 16,
  };
  const summary = await execute(spec);
  assert.equal(summary.trainRows, 90);
  const reference = await runInProcess(local, spec);
  assert.equal(summary.runPrefix, reference.runPrefix, 'same content address');
  assert.deepEqual(await readRunResults(s3, summary), await readRunResults(local, reference));
  const { data } = await buildReport(s3, summary, { queries: 2, perQuery: 2, mislabels: 3 });
  assert.equal(data.queries.length, 2);
  assert.match(renderReport(data), /TracIn-CP/);
});

test('tda model add from S3: a model.json naming a missing weight file fails naming it; nothing is written', async () => {
  const prefix = `it/${randomUUID()}`;
  await s3.put(
    `${prefix}/user/model.json`,
    JSON.stringify({
      modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [] } },
      format: 'layers-model',
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }],
    }),
  );
  const r = tda(
    'model',
    'add',
    '--model',
    `s3://${config.s3.bucket}/${prefix}/user`,
    '--out',
    `${prefix}/model/checkpoints.json`,
  );
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /user\/model\.json in s3:\/\/.* names weight file "group1-shard1of1\.bin", which is missing/,
  );
  assert.deepEqual(await s3.list(`${prefix}/model/`), []);
});

test('a model with an unsupported layer: tda model add refuses it naming the layer and writes nothing; registered without it, a run selecting it fails at plan time, once, non-retryably', async () => {
  const prefix = `it/${randomUUID()}`;
  const input = tfl.input({ shape: [6] });
  const h = tfl.layers.dense({ units: 8, name: 'hidden' }).apply(input);
  const a = tfl.layers.prelu({ name: 'leaky' }).apply(h);
  const out = tfl.layers.dense({ units: 3, name: 'logits' }).apply(a) as tfl.SymbolicTensor;
  await saveModel(tfl.model({ inputs: input, outputs: out }), s3, `${prefix}/user`);
  const manifestKey = `${prefix}/model/checkpoints.json`;
  const add = (...more: string[]) =>
    tda(
      'model',
      'add',
      '--model',
      `s3://${config.s3.bucket}/${prefix}/user`,
      '--out',
      manifestKey,
      ...more,
    );

  const refused = add();
  assert.equal(refused.status, 1);
  assert.match(
    refused.stderr,
    /user\/model\.json: layer 'leaky' \(PReLU\) is not supported .*--layers NAME/,
  );
  assert.deepEqual(await s3.list(`${prefix}/model/`), [], 'nothing written');

  const registered = add('--layers', 'hidden,logits');
  assert.equal(registered.status, 0, registered.stderr);
  assert.match(registered.stdout, /^leaky +PReLU +8 +no$/m);

  await writePartitioned(s3, `${prefix}/train`, blobs('train', 60, 6, 1), 30);
  await writePartitioned(s3, `${prefix}/query`, blobs('query', 4, 6, 2), 4);
  const spec: RunSpecInput = {
    name: 'unsupported-layer',
    checkpoints: manifestKey,
    train: `${prefix}/train`,
    query: `${prefix}/query`,
    topK: 3,
    shardSize: 30,
  };
  const runsBefore = await s3.list(`runs/${spec.name}/`);
  const client = await connectClient(config);
  const workflowId = `model-add-unsupported-${randomUUID()}`;
  try {
    await assert.rejects(
      client.workflow.execute(attribute, { taskQueue, workflowId, args: [{ spec }] }),
      (e: unknown) => {
        assert.ok(e instanceof WorkflowFailedError, String(e));
        let cause: unknown = e.cause;
        while (cause instanceof ActivityFailure) cause = cause.cause;
        assert.ok(cause instanceof ApplicationFailure, String(cause));
        assert.equal(cause.nonRetryable, true);
        assert.equal(cause.type, 'SpecError');
        assert.match(
          cause.message,
          /layer 'leaky' \(PReLU\) is not supported for per-example gradients.*layers: \{names: \["hidden","logits"\]\}/,
        );
        return true;
      },
    );
    // Failed at plan time: one failed activity, on its first attempt, before any featurizing.
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const failed = events.filter((ev) => ev.activityTaskFailedEventAttributes);
    assert.equal(failed.length, 1);
    assert.ok(
      events.every((ev) => (ev.activityTaskStartedEventAttributes?.attempt ?? 1) === 1),
      'no activity was retried',
    );
    const scheduled = events.flatMap(
      (ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    assert.ok(!scheduled.some((n) => /featurize/i.test(n)), `scheduled: ${scheduled}`);
  } finally {
    await client.connection.close();
  }
  assert.deepEqual(await s3.list(`runs/${spec.name}/`), runsBefore, 'no run committed');
});
