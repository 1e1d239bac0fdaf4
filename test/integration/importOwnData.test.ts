import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { readAllParts, readPartitionedInfo } from '../../lib/data/partitionedDataset';
import { Rng } from '../../lib/data/rng';
import { checkpointPrefix, readCheckpointManifest } from '../../lib/model/checkpoints';
import { loadModel } from '../../lib/model/storeIO';
import type { RunSpecInput } from '../../lib/pipeline/runSpec';
import type { RunSummary } from '../../lib/pipeline/types';
import { buildReport } from '../../lib/report/buildReport';
import { readManifest } from '../../lib/store/commit';
import { S3Store } from '../../lib/store/s3Store';
import { ensureBackend } from '../../workers/worker';
import { ensureStack } from '../support/stack';
import { tdaAttribute, tdaOk } from '../support/tdaCli';

/**
 * A user's own data and model end to end on the real stack, from the CLI: a Parquet training
 * table and a CSV query table (header row, a categorical column, string customer ids) put on
 * the local S3 server and imported from s3:// by `tda import`; a functional Keras 3 model (BatchNormalization,
 * a residual Add, Dropout; two checkpoints Keras trained on customers encoded the same way, made
 * by test/fixtures/keras/make_fixtures.py) registered from s3:// by `tda model add`; attributed
 * through Temporal by `tda attribute` with a worker process; `tda report` naming examples by the
 * --id column.
 */
const config = ensureStack();
const s3 = new S3Store(config.s3);
before(() => ensureBackend(config));
const FIXTURES = fileURLToPath(new URL('../fixtures/keras/', import.meta.url));

const PLANS = ['basic', 'plus', 'pro'];

/**
 * Customers: churn depends on tenure, spend and plan; every 23rd label flipped. The same law as
 * churn_data in test/fixtures/keras/make_fixtures.py, which the Keras fixtures were trained on.
 */
function customers(n: number, seed: number, idBase: number) {
  const rng = new Rng(seed);
  const rows = Array.from({ length: n }, (_, i) => {
    const plan = PLANS[rng.int(3)];
    const tenure = Math.round(rng.next() * 60);
    const spend = Math.round((20 + rng.next() * 80) * 100) / 100;
    let churn = tenure < 20 && plan !== 'pro' ? 'yes' : spend > 80 ? 'yes' : 'no';
    if (i % 23 === 7) churn = churn === 'yes' ? 'no' : 'yes';
    return { customer: `cust-${idBase + i}`, tenure, spend, plan, churn };
  });
  return rows;
}

test('Parquet and CSV on S3 → tda import s3:// → a functional Keras model by tda model add → tda attribute → tda report names examples by --id', async () => {
  const prefix = `it/own-data/${randomUUID()}`;
  const train = customers(240, 1, 5000);
  const query = customers(6, 2, 9000);
  const t = tableFromArrays({
    customer: train.map((r) => r.customer),
    tenure: Int32Array.from(train.map((r) => r.tenure)),
    spend: Float64Array.from(train.map((r) => r.spend)),
    plan: train.map((r) => r.plan),
    churn: train.map((r) => r.churn),
  });
  const props = new WriterPropertiesBuilder().setMaxRowGroupSize(100).build();
  await s3.put(
    `${prefix}/raw/customers.parquet`,
    writeParquet(WasmTable.fromIPCStream(tableToIPC(t, 'stream')), props),
  );
  // The query CSV: a header, columns in another order, one unused column.
  const csv = [
    'churn,plan,customer,spend,tenure,notes',
    ...query.map((r) => `${r.churn},${r.plan},${r.customer},${r.spend},${r.tenure},"a, b"`),
  ].join('\n');
  await s3.put(`${prefix}/raw/queries.csv`, csv);

  const bucket = `s3://${config.s3.bucket}`;
  const out = await tdaOk(
    'import',
    `${bucket}/${prefix}/raw/customers.parquet`,
    '--out',
    `${prefix}/train`,
    '--label',
    'churn',
    '--id',
    'customer',
    '--rows-per-part',
    '100',
  );
  assert.match(out, /240 rows from 1 parquet file \(tabular, shape \[5\], 2 classes\)/);
  assert.match(out, /plan: categorical, one-hot over 3 values/);
  await tdaOk(
    'import',
    `${bucket}/${prefix}/raw/queries.csv`,
    '--out',
    `${prefix}/query`,
    '--like',
    `${prefix}/train`,
  );
  const info = await readPartitionedInfo(s3, `${prefix}/train`);
  assert.equal(info.parts.length, 3);
  assert.deepEqual(info.encoding?.label, { column: 'churn', classes: ['no', 'yes'] });
  const trainSet = await readAllParts(s3, `${prefix}/train`);
  assert.deepEqual(
    trainSet.keys,
    train.map((r) => r.customer),
  );
  const querySet = await readAllParts(s3, `${prefix}/query`);
  assert.deepEqual(
    querySet.keys,
    query.map((r) => r.customer),
  );
  // The CSV's categorical column, one-hot over the training set's plans (features 2..4).
  assert.deepEqual(
    query.map((_, i) => Array.from(querySet.x!.subarray(i * 5 + 2, i * 5 + 5))),
    query.map((r) => PLANS.map((p) => (p === r.plan ? 1 : 0))),
  );

  // The user's Keras checkpoints: Dense → (Dense → BatchNormalization → ReLU → Dropout) + a
  // residual Add → softmax, two checkpoints of one Keras training run.
  for (const step of [32, 320]) {
    const file = `churn_functional.step${step}.keras`;
    await s3.put(`${prefix}/user/${file}`, new Uint8Array(readFileSync(`${FIXTURES}${file}`)));
  }
  const manifestKey = `${prefix}/model/checkpoints.json`;
  const added = await tdaOk(
    'model',
    'add',
    '--checkpoint',
    `${bucket}/${prefix}/user/churn_functional.step32.keras:32:0.1`,
    '--checkpoint',
    `${bucket}/${prefix}/user/churn_functional.step320.keras:320:0.1`,
    '--out',
    manifestKey,
  );
  assert.match(added, /^stem +Dense +48 +yes +yes$/m);
  assert.match(added, /^bn +BatchNormalization +32 +yes +yes$/m);
  assert.match(added, /^drop +Dropout +0 +pass-through$/m);
  assert.match(added, /^residual +Add +0 +pass-through$/m);
  assert.match(added, /2 checkpoint\(s\) of model "model"/);
  const manifest = await readCheckpointManifest(s3, manifestKey, { verifyHashes: true });
  assert.deepEqual(
    manifest.checkpoints.map((c) => c.step),
    [32, 320],
  );
  // The model reads the imported features as Keras saw them in training (column order,
  // standardisation, one-hot over sorted plans): the last checkpoint fits the imported rows.
  const model = await loadModel(s3, checkpointPrefix(manifestKey, manifest.checkpoints[1]));
  const x = tf.tensor2d(trainSet.x!, [240, 5]);
  const probs = model.predict(x) as tf.Tensor;
  const predicted = tf.argMax(probs, 1).dataSync();
  tf.dispose([x, probs]);
  const accuracy = predicted.filter((c, i) => c === trainSet.labels[i]).length / 240;
  assert.ok(accuracy > 0.85, `accuracy of the Keras model on the imported rows: ${accuracy}`);

  const dir = mkdtempSync(join(tmpdir(), 'tda-own-data-'));
  const spec: RunSpecInput = {
    name: 'own-data',
    checkpoints: manifestKey,
    train: `${prefix}/train`,
    query: `${prefix}/query`,
    method: 'tracin',
    projector: { kind: 'none' },
    topK: 5,
    shardSize: 100,
  };
  const run = await tdaAttribute(dir, spec);
  const summary = (await readManifest<RunSummary>(s3, run))!.meta;
  assert.equal(summary.trainRows, 240);
  assert.equal(summary.queryRows, 6);

  const { data } = await buildReport(s3, summary, { queries: 6, perQuery: 3, mislabels: 10 });
  // Every example the report shows is named by the customer id of that very row.
  assert.deepEqual(
    data.queries.map((q) => q.key),
    query.map((r) => r.customer),
  );
  for (const q of data.queries) {
    for (const e of [...q.proponents, ...q.opponents]) {
      assert.equal(e.key, train[e.id].customer, `row ${e.id}`);
    }
  }
  for (const m of data.mislabels!.rows) assert.equal(m.key, train[m.id].customer);

  // The report as the user gets it from the CLI.
  await tdaOk('report', run, '--out', join(dir, 'report.html'), '--queries', '6');
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  for (const r of query) assert.ok(html.includes(`<b>Query ${r.customer}</b>`), r.customer);
  const named = [...html.matchAll(/data-id="(\d+)" data-key="([^"]*)"/g)];
  assert.ok(named.length >= 6 * 2, 'examples and mislabels carry their ids');
  for (const [, id, key] of named) assert.equal(key, train[Number(id)].customer, `row ${id}`);
  const top = data.mislabels!.rows[0];
  assert.ok(html.includes(`<td>1</td><td>${top.key}</td>`), 'mislabel table names the customer');
});
