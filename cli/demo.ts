import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { AuditInput } from '../lib/audit/auditSpec';
import type { AuditSummary } from '../lib/audit/reportAudit';
import type { Config } from '../lib/config';
import { auditDetection, type Detection } from '../lib/eval/auditDetection';
import { CLEANLAB_FASHION_MNIST } from '../lib/eval/recordedBaselines';
import { mainJobAudit, mainJobSpec, prepareMainJob } from '../lib/jobs/mainJob';
import { parseRunSpec, selfScoreName } from '../lib/pipeline/runSpec';
import { buildReport } from '../lib/report/buildReport';
import { renderReport } from '../lib/report/renderReport';
import type { ObjectStore } from '../lib/store/objectStore';
import { S3Store } from '../lib/store/s3Store';
import { computeLayout, layoutEnv } from '../lib/tf/computeLayout';
import { nativeCompute } from '../lib/tf/native';
import { connectClient } from '../workers/connection';
import { startWorkerProcesses } from '../workers/spawnWorkers';
import { ensureBackend } from '../workers/worker';
import { runAttribution } from './attributeRun';
import { runAudit } from './auditRun';
import { type DemoAudit, demoAuditJson, demoAuditLines } from './demoSummary';

/**
 * The main job's mislabel audit through Temporal (lib/jobs/mainJob's mainJobAudit: the audit
 * workflow, its fold models trained on the workers) and how many flipped labels its committed
 * ranking found.
 */
export async function runDemoAudit(
  config: Config,
  client: Client,
  store: ObjectStore,
  input: AuditInput,
  log: (msg: string) => void = console.log,
): Promise<{ summary: AuditSummary; detection: Detection; seconds: number }> {
  const { summary, seconds } = await runAudit(config, client, input, log);
  const detection = await auditDetection(store, summary);
  if (!detection) throw new Error(`audit ${summary.prefix}: its data records no flipped labels`);
  return { summary, detection, seconds };
}

/**
 * The main job on real data: Fashion-MNIST with 10% of training labels flipped, an MLP trained
 * with checkpoints, TracIn-CP over all 60,000 training examples for 100 test queries, and a
 * mislabel audit by out-of-fold self-confidence over 5 fold models' checkpoints, through
 * Temporal on the local stack;
 * writes the HTML report and says how many flipped labels the audit found in its top 10%, beside
 * cleanlab's recorded figure on the same labels.
 */
export async function runDemo(
  config: Config,
  opts: { out: string; queries?: number; workers?: number },
) {
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const store = new S3Store(config.s3);
  await ensureBackend(config);

  const layout = computeLayout(nativeCompute(config.backend), availableParallelism());
  // Started first, so that each worker's warm-up (lib/pipeline/warmUp.ts) runs while the data
  // and model are prepared, not after.
  const starting = startWorkerProcesses(opts.workers ?? layout.processes, {
    queue: config.taskQueues.cpu,
    concurrency: layout.slots,
    env: layoutEnv(layout, process.env),
  });
  // Awaited below; until then a failure to start must not be an unhandled rejection.
  starting.catch(() => {});
  try {
    await prepareMainJob(store, (m) => console.log(`${m} (${elapsed()})`));
  } catch (e) {
    await starting.then(
      (p) => p.stop(),
      (w) => console.error(`the worker processes did not start either: ${w}`),
    );
    throw e;
  }
  console.log(`model trained with 3 checkpoints (${elapsed()})`);
  const pool = await starting;
  console.log(
    `${pool.pids.length - 1} compute worker processes (${layout.why}) and a workflow worker on task queue ${config.taskQueues.cpu}`,
  );
  let client: Client | undefined;
  try {
    client = await connectClient(config);
    const spec = mainJobSpec(opts.queries);
    const { summary, seconds } = await runAttribution(config, client, spec);
    console.log(`attribution done in ${seconds.toFixed(1)} s: ${summary.runPrefix} (${elapsed()})`);

    const { data, detection } = await buildReport(store, summary, {
      title: 'Fashion-MNIST, 10% flipped labels',
    });
    const html = renderReport(data);
    await mkdir(opts.out, { recursive: true });
    const file = join(opts.out, 'report.html');
    await writeFile(file, html);
    await store.put(`${summary.runPrefix}/report.html`, html);
    console.log(`report: ${file} (also s3://${config.s3.bucket}/${summary.runPrefix}/report.html)`);

    console.log(`mislabel audit: 5 fold models and the ranking (${elapsed()})`);
    const audit = await runDemoAudit(config, client, store, mainJobAudit());
    const result: DemoAudit = {
      ...audit,
      peer: CLEANLAB_FASHION_MNIST,
      inSample: detection && {
        method: selfScoreName(parseRunSpec(spec).selfScore),
        detection,
      },
    };
    for (const line of demoAuditLines(result)) console.log(line);
    console.log(
      `  audit report: s3://${config.s3.bucket}/${audit.summary.files.report} (${elapsed()})`,
    );
    const json = JSON.stringify({
      train: summary.trainRows,
      queries: summary.queryRows,
      ...demoAuditJson(result),
      attribution_s: seconds,
      total_s: (performance.now() - t0) / 1000,
    });
    await writeFile(join(opts.out, 'summary.json'), `${json}\n`);
    console.log(json);
  } finally {
    await client?.connection.close();
    await pool.stop();
  }
}
