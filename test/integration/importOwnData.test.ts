import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { readAllParts, readPartitionedInfo } from '../../lib/data/partitionedDataset';
import { Rng } from '../../lib/data/rng';
import type { RunSpecInput } from '../../lib/pipeline/runSpec';
import { buildReport } from '../../lib/report/buildReport';
import { renderReport } from '../../lib/report/renderReport';
import { S3Store } from '../../lib/store/s3Store';
import { connectClient } from '../../workers/connection';
import { ensureBackend } from '../../workers/worker';
import { attribute } from '../../workflows';
import { ensureStack, ROOT } from '../support/stack';
import { useTestWorker } from '../support/testWorker';

/**
 * A user's own data end to end on the real stack: a Parquet training table and a CSV query table
 * (header row, a categorical column, string customer ids) put on SeaweedFS, imported from s3://
 * by the `tda import` command, an MLP trained by `tda train`, attributed through the Temporal
 * workflow, and the report naming examples by the --id column.
 */
const config = ensureStack();
const s3 = new S3Store(config.s3);
before(() => ensureBackend(config));
const taskQueue = useTestWorker(config, 'import-own-data');

const PLANS = ['basic', 'plus', 'pro'];

/** Customers: churn depends on tenure, spend and plan; a few labels flipped. */
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

async function tda(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(join(ROOT, 'bin/tda'), args, {
    env: process.env,
    maxBuffer: 1 << 24,
  });
  return stdout;
}

test('Parquet and CSV on S3 → tda import s3:// → tda train → attribute workflow → report names examples by --id', async () => {
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
  const out = await tda(
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
  await tda(
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

  await tda(
    'train',
    '--data',
    `${prefix}/train`,
    '--out',
    `${prefix}/model/checkpoints.json`,
    '--arch',
    'mlp:16',
    '--epochs',
    '3',
    '--batch',
    '32',
    '--lr',
    '0.05',
  );

  const spec: RunSpecInput = {
    name: 'own-data',
    checkpoints: `${prefix}/model/checkpoints.json`,
    train: `${prefix}/train`,
    query: `${prefix}/query`,
    method: 'tracin',
    projector: { kind: 'none' },
    topK: 5,
    shardSize: 100,
  };
  const client = await connectClient(config);
  let summary: Awaited<ReturnType<typeof attribute>>;
  try {
    summary = await client.workflow.execute(attribute, {
      taskQueue,
      workflowId: `own-data-${randomUUID()}`,
      args: [{ spec }],
    });
  } finally {
    await client.connection.close();
  }
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
  const html = renderReport(data);
  assert.ok(html.includes(`<b>Query ${query[0].customer}</b>`));
  const top = data.mislabels!.rows[0];
  assert.ok(html.includes(`<td>1</td><td>${top.key}</td>`), 'mislabel table names the customer');
});
