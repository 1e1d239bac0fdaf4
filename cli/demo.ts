import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../lib/config';
import { importFashionMnist } from '../lib/data/importIdx';
import { flipLabels } from '../lib/data/labelNoise';
import { writePartitioned } from '../lib/data/partitionedDataset';
import { trainJob } from '../lib/jobs/trainJob';
import { buildReport } from '../lib/report/buildReport';
import { renderReport } from '../lib/report/renderReport';
import { readManifest } from '../lib/store/commit';
import { S3Store } from '../lib/store/s3Store';
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

  const trainKey = 'demo/fashion-mnist/train-flip10-seed1';
  const queryKey = 'demo/fashion-mnist/t10k';
  if (!(await readManifest(store, trainKey))) {
    const train = flipLabels(importFashionMnist('train'), 0.1, 1);
    await writePartitioned(store, trainKey, train, 10_000);
    await writePartitioned(store, queryKey, importFashionMnist('t10k'), 10_000);
    console.log(
      `imported Fashion-MNIST (60,000 + 10,000), 10% of training labels flipped (${elapsed()})`,
    );
  }

  const checkpoints = 'demo/models/fashion-mlp/checkpoints.json';
  await trainJob(
    store,
    {
      data: trainKey,
      checkpoints,
      name: 'fashion-mlp',
      architecture: { kind: 'mlp', hidden: [256, 128] },
      config: {
        optimizer: { kind: 'momentum', momentum: 0.9 },
        learningRate: 0.02,
        batchSize: 128,
        seed: 1,
      },
      epochs: 3,
    },
    (m) => console.log(`train: ${m}`),
  );
  console.log(`model trained with 3 checkpoints (${elapsed()})`);

  const pool = await startWorkerProcesses(opts.workers ?? availableParallelism(), {
    queue: config.taskQueues.cpu,
  });
  console.log(
    `${pool.pids.length - 1} compute worker processes and a workflow worker on task queue ${config.taskQueues.cpu}`,
  );
  const client = await connectClient(config);
  try {
    const { summary, seconds } = await runAttribution(config, client, {
      name: 'fashion-mnist-demo',
      checkpoints,
      train: trainKey,
      query: queryKey,
      queryLimit: opts.queries ?? 100,
      method: 'tracin',
      projector: { kind: 'kronecker', k1: 32, k2: 32, seed: 0, dtype: 'float16' },
      topK: 20,
      shardSize: 10_000,
      // The mislabel ranking: the influence self-score over the last layer's stored features,
      // summed over the checkpoints (bench:mislabel: the best attribution ranking).
      selfScore: { kind: 'influence', layers: 'last' },
    });
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
