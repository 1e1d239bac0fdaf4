import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../lib/config';
import { mainJobSpec, prepareMainJob } from '../lib/jobs/mainJob';
import { buildReport } from '../lib/report/buildReport';
import { renderReport } from '../lib/report/renderReport';
import { S3Store } from '../lib/store/s3Store';
import { computeLayout, layoutEnv } from '../lib/tf/computeLayout';
import { usesNativeBackend } from '../lib/tf/native';
import { connectClient } from '../workers/connection';
import { startWorkerProcesses } from '../workers/spawnWorkers';
import { ensureBackend } from '../workers/worker';
import { runAttribution } from './attributeRun';

/**
 * The main job on real data: Fashion-MNIST with 10% of training labels flipped, an MLP trained
 * with checkpoints, TracIn-CP over all 60,000 training examples for 100 test queries and a
 * mislabel audit by the influence self-score, through Temporal on the local stack; writes the HTML report and says how
 * many flipped labels the audit found in its top 10%.
 */
export async function runDemo(
  config: Config,
  opts: { out: string; queries?: number; workers?: number },
) {
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const store = new S3Store(config.s3);
  await ensureBackend(config);

  await prepareMainJob(store, (m) => console.log(`${m} (${elapsed()})`));
  console.log(`model trained with 3 checkpoints (${elapsed()})`);

  const layout = computeLayout(usesNativeBackend(config.backend), availableParallelism());
  const pool = await startWorkerProcesses(opts.workers ?? layout.processes, {
    queue: config.taskQueues.cpu,
    concurrency: layout.slots,
    env: layoutEnv(layout, process.env),
  });
  console.log(
    `${pool.pids.length - 1} compute worker processes (${layout.why}) and a workflow worker on task queue ${config.taskQueues.cpu}`,
  );
  const client = await connectClient(config);
  try {
    const { summary, seconds } = await runAttribution(config, client, mainJobSpec(opts.queries));
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
    if (detection) {
      const at = (f: number) =>
        detection.foundAt.find((x) => x.fraction === f)?.found ?? Number.NaN;
      const found10 = Math.round(at(0.1) * detection.flippedTotal);
      console.log(
        `self-influence audit (influence over checkpoints, last layer): ${found10} of ${detection.flippedTotal} flipped labels (${(100 * at(0.1)).toFixed(1)}%) ` +
          `are in the top 10% of training examples; top 20%: ${(100 * at(0.2)).toFixed(1)}%; ROC AUC ${detection.auc.toFixed(3)}`,
      );
      console.log(
        JSON.stringify({
          train: summary.trainRows,
          queries: summary.queryRows,
          flipped: detection.flippedTotal,
          found_at_10pct: at(0.1),
          found_at_20pct: at(0.2),
          auc: detection.auc,
          attribution_s: seconds,
          total_s: (performance.now() - t0) / 1000,
        }),
      );
    }
  } finally {
    await client.connection.close();
    await pool.stop();
  }
}
