/**
 * bench:scale — the attribution pipeline at scale through the real stack: synthetic
 * 784-dimensional examples, an MLP 784-256-128-10 with 3 checkpoints, Kronecker projection
 * k1 = k2 = 32 per layer (1024 + 1024 + 32 × 10 dims: the 10 logits are kept exact) in float16, 1,000 queries, top-100, scored by worker
 * PROCESSES (each compute concurrency 1) via the attribute workflow.
 *
 *   npm run bench:scale -- --examples 10000 [--queries 1000] [--workers 2] [--shard-size 10000]
 *     [--engine tf|js] [--self-score tracin|influence]
 *
 * Reports wall time per stage (from the progress query), activity seconds per kind (from the
 * histories), examples/s featurized, bytes written, peak RSS per worker and the longest workflow
 * history. Last line: one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadConfig } from '../lib/config';
import { type Dataset, writeDataset } from '../lib/data/dataset';
import type { PartitionedInfo } from '../lib/data/partitionedDataset';
import { Rng } from '../lib/data/rng';
import { saveCheckpoint } from '../lib/model/checkpoints';
import { featureKey } from '../lib/pipeline/keys';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import type { Plan, Progress, RunSummary } from '../lib/pipeline/types';
import { sha256, Transaction } from '../lib/store/commit';
import { getJson } from '../lib/store/objectStore';
import { S3Store } from '../lib/store/s3Store';
import { initBackend } from '../lib/tf/backend';
import { resume, train } from '../lib/train/trainer';
import { ensureStack } from '../test/support/stack';
import { connectClient } from '../workers/connection';
import { chooseFeaturizeQueue } from '../workers/featurizeQueue';
import { spawnWorkerProcess } from '../workers/spawnWorkers';
import type { WorkerReport } from '../workers/workerProcess';
import type { attribute } from '../workflows';

const { values } = parseArgs({
  options: {
    examples: { type: 'string', default: '10000' },
    queries: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    'shard-size': { type: 'string', default: '10000' },
    /** Kronecker projection arithmetic: 'tf' (backend matMul) or 'js' (bit-identical anywhere). */
    engine: { type: 'string', default: 'tf' },
    /** The mislabel ranking: 'tracin' (computed while scoring) or 'influence' (last layer, two more passes at reduce). */
    'self-score': { type: 'string', default: 'tracin' },
  },
});
if (values['self-score'] !== 'tracin' && values['self-score'] !== 'influence') {
  throw new Error(`--self-score must be tracin or influence, got "${values['self-score']}"`);
}
const N = Number(values.examples);
const Q = Number(values.queries);
const WORKERS = Number(values.workers);
const SHARD = Number(values['shard-size']);
const D = 784;
const CLASSES = 10;
const ROWS_PER_PART = SHARD; // one part per shard: a featurize reads only its own rows

const log = (m: string) => console.log(`[scale] ${m}`);

/** Class prototypes plus noise; the seed makes every bench run's data (and features) new. */
function rows(rng: Rng, protos: Float32Array, n: number, firstId: number): Dataset {
  const x = new Float32Array(n * D);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng.next() * CLASSES);
    labels[i] = c;
    for (let j = 0; j < D; j++) x[i * D + j] = protos[c * D + j] + (rng.next() - 0.5);
  }
  return {
    name: 'synthetic',
    kind: 'tabular',
    shape: [D],
    classes: Array.from({ length: CLASSES }, (_, c) => `c${c}`),
    rows: n,
    ids: Int32Array.from({ length: n }, (_, i) => firstId + i),
    labels,
    x,
  };
}

/** Writes a partitioned data set part by part, never holding all of it (1M × 784 is 3 GB). */
async function writeSynthetic(
  store: S3Store,
  prefix: string,
  n: number,
  seed: number,
  protos: Float32Array,
): Promise<{ bytes: number; first: Dataset }> {
  const rng = new Rng(seed);
  const tx = new Transaction(store, prefix);
  const parts: PartitionedInfo['parts'] = [];
  let bytes = 0;
  let first: Dataset | undefined;
  for (let start = 0, i = 0; start < n; start += ROWS_PER_PART, i++) {
    const part = rows(rng, protos, Math.min(ROWS_PER_PART, n - start), start);
    first ??= part;
    const b = writeDataset(part);
    const name = `part-${String(i).padStart(5, '0')}.arrow`;
    await tx.put(name, b);
    parts.push({ name, rows: part.rows, sha256: sha256(b) });
    bytes += b.byteLength;
  }
  const { x: _x, ids: _i, labels: _l, ...meta } = first!;
  await tx.commit({ ...meta, rows: n, parts });
  return { bytes, first: first! };
}

async function sizeUnder(s3: S3Store, bucket: string, prefix: string): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const res = await s3.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of res.Contents ?? []) total += o.Size ?? 0;
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return total;
}

interface HistoryStats {
  events: number;
  activities: Record<string, { count: number; seconds: number }>;
}

/** Every run of a workflow id (following continue-as-new back), its events and activity times. */
async function historyOf(client: Client, workflowId: string): Promise<HistoryStats[]> {
  const out: HistoryStats[] = [];
  let runId: string | undefined;
  for (;;) {
    const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = h.events ?? [];
    const scheduled = new Map<string, string>();
    const activities: HistoryStats['activities'] = {};
    for (const ev of events) {
      const s = ev.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(ev.eventId), s.activityType?.name ?? '?');
      const c = ev.activityTaskCompletedEventAttributes;
      if (c) {
        const type = scheduled.get(String(c.scheduledEventId)) ?? '?';
        const data = c.result?.payloads?.[0]?.data;
        const r = data ? JSON.parse(Buffer.from(data).toString('utf8')) : {};
        const key = type;
        activities[key] ??= { count: 0, seconds: 0 };
        activities[key].count++;
        activities[key].seconds += typeof r.seconds === 'number' ? r.seconds : 0;
      }
    }
    out.push({ events: events.length, activities });
    const prev = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!prev) return out;
    runId = prev;
  }
}

async function main(): Promise<void> {
  // The stack may be up already (started from another worktree: its pid files are not ours).
  const config = loadConfig();
  const probe = await connectClient(config).catch(() => undefined);
  if (probe) await probe.connection.close();
  else ensureStack();
  const backend = await initBackend(config.backend);
  const s3 = new S3Store(config.s3);
  const id = randomUUID().slice(0, 8);
  const prefix = `bench/scale/${id}`;
  const seed = Number.parseInt(id, 16) >>> 0;
  log(`N=${N} queries=${Q} workers=${WORKERS} shard=${SHARD} backend=${backend} prefix=${prefix}`);

  let t = performance.now();
  const protoRng = new Rng(seed);
  const protos = Float32Array.from({ length: CLASSES * D }, () => (protoRng.next() < 0.2 ? 1 : 0));
  const trainData = await writeSynthetic(s3, `${prefix}/train`, N, seed + 1, protos);
  const queryData = await writeSynthetic(s3, `${prefix}/query`, Q, seed + 2, protos);
  log(
    `data written: ${((trainData.bytes + queryData.bytes) / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  // A real model: trained on the first part, 3 checkpoints.
  t = performance.now();
  const model = tfl.sequential({
    name: 'mlp',
    layers: [
      tfl.layers.dense({
        name: 'h1',
        inputShape: [D],
        units: 256,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
      }),
      tfl.layers.dense({
        name: 'h2',
        units: 128,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
      }),
      tfl.layers.dense({
        name: 'logits',
        units: CLASSES,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
  const first = trainData.first;
  const nTrain = Math.min(first.rows, 2000);
  const x = tf.tensor2d((first.x as Float32Array).subarray(0, nTrain * D), [nTrain, D]);
  const data = { x, labels: first.labels.subarray(0, nTrain) };
  const trainConfig = {
    optimizer: { kind: 'sgd' as const },
    learningRate: 0.05,
    batchSize: 64,
    seed: 3,
  };
  const manifestKey = `${prefix}/model/checkpoints.json`;
  let state = await train(model, data, trainConfig, 20);
  await saveCheckpoint(model, s3, manifestKey, { model: 'mlp', step: 20, learningRate: 0.05 });
  for (const step of [40, 60]) {
    state = await resume(model, data, state, step);
    await saveCheckpoint(model, s3, manifestKey, { model: 'mlp', step, learningRate: 0.05 });
  }
  x.dispose();
  model.dispose();
  log(`model trained, 3 checkpoints saved in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const spec: RunSpecInput = {
    name: 'scale',
    checkpoints: manifestKey,
    train: `${prefix}/train`,
    query: `${prefix}/query`,
    method: 'tracin',
    projector: {
      kind: 'kronecker',
      k1: 32,
      k2: 32,
      seed: 0,
      dtype: 'float16',
      engine: values.engine as 'js' | 'tf',
    },
    topK: 100,
    shardSize: SHARD,
    queryBlock: 1000,
    selfScore:
      values['self-score'] === 'influence'
        ? { kind: 'influence', layers: 'last' }
        : { kind: 'tracin' },
  };

  const queue = `scale-${id}`;
  const reportDir = mkdtempSync(join(tmpdir(), 'tda-scale-'));
  const workers = Array.from({ length: WORKERS }, (_, i) =>
    spawnWorkerProcess({
      queue,
      concurrency: 1,
      role: 'activities',
      report: join(reportDir, `worker-${i}.json`),
    }),
  );
  // Workflow tasks in a light process of their own, as `tda worker` runs them.
  const workflowWorker = spawnWorkerProcess({ queue, role: 'workflows' });
  await Promise.all([...workers, workflowWorker].map((w) => w.ready));
  log(`${WORKERS} compute worker processes and a workflow worker ready on ${queue}`);

  const client = await connectClient(config);
  const featurizeQueue = await chooseFeaturizeQueue(client, config);
  const workflowId = `scale-${id}`;
  t = performance.now();
  const handle = await client.workflow.start<typeof attribute>('attribute', {
    taskQueue: queue,
    workflowId,
    args: [{ spec, featurizeQueue }],
  });
  const stageStart: Record<string, number> = {};
  let last = '';
  let summary: RunSummary | undefined;
  const done = handle.result().then((s) => {
    summary = s;
  });
  while (!summary) {
    await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
    const p: Progress | undefined = (await handle.query('progress').catch(() => undefined)) as
      | Progress
      | undefined;
    const now = (performance.now() - t) / 1000;
    if (p && !(p.stage in stageStart)) stageStart[p.stage] = now;
    const line = p
      ? `${p.stage} shards ${p.shardsDone}/${p.shardsTotal} ex ${p.examplesDone}/${p.examplesTotal}`
      : '';
    if (line !== last) log(`${now.toFixed(1)} s: ${line}`);
    last = line;
  }
  await done;
  const wall = (performance.now() - t) / 1000;
  stageStart.done ??= wall;
  log(`workflow done in ${wall.toFixed(1)} s`);

  await Promise.all([...workers, workflowWorker].map((w) => w.stop()));
  const reports: WorkerReport[] = workers.map((_, i) =>
    JSON.parse(readFileSync(join(reportDir, `worker-${i}.json`), 'utf8')),
  );

  const plan = await getJson<Plan>(s3, `${summary!.runPrefix}/plan.json`);
  let bytes = await sizeUnder(s3, config.s3.bucket, `${summary!.runPrefix}/`);
  let featureBytes = 0;
  for (const set of ['train', 'query'] as const) {
    for (const sh of plan[set].shards) {
      for (const ck of plan.checkpoints) {
        featureBytes += await sizeUnder(
          s3,
          config.s3.bucket,
          `${featureKey(ck.hash, plan.featureSpecHash, sh.hash)}/`,
        );
      }
    }
  }
  bytes += featureBytes;

  const histories: { id: string; runs: HistoryStats[] }[] = [
    { id: workflowId, runs: await historyOf(client, workflowId) },
  ];
  for (let s = 0; s < plan.train.shards.length; s += plan.spec.shardsPerChild) {
    histories.push({
      id: `${workflowId}-shards-${s}`,
      runs: await historyOf(client, `${workflowId}-shards-${s}`),
    });
  }
  await client.connection.close();
  const activity: Record<string, { count: number; seconds: number }> = {};
  let maxEvents = 0;
  for (const h of histories) {
    for (const r of h.runs) {
      maxEvents = Math.max(maxEvents, r.events);
      for (const [k, v] of Object.entries(r.activities)) {
        activity[k] ??= { count: 0, seconds: 0 };
        activity[k].count += v.count;
        activity[k].seconds += v.seconds;
      }
    }
    log(
      `history ${h.id}: ${h.runs.length} run(s), events ${h.runs.map((r) => r.events).join(' + ')}`,
    );
  }
  // Stage start times as polled; a stage shorter than the poll interval starts when the next does.
  const order = ['plan', 'featurize-queries', 'shards', 'reduce', 'done'];
  const starts = order.map(() => wall);
  for (let i = order.length - 2; i >= 0; i--) {
    starts[i] = i === 0 ? 0 : (stageStart[order[i]] ?? starts[i + 1]);
  }
  const stages: Record<string, number> = {};
  for (let i = 0; i + 1 < order.length; i++) {
    stages[order[i]] = Number((starts[i + 1] - starts[i]).toFixed(2));
  }
  for (const [k, v] of Object.entries(activity)) {
    log(
      `activity ${k}: ${v.count} × avg ${(v.seconds / Math.max(1, v.count)).toFixed(2)} s = ${v.seconds.toFixed(1)} s`,
    );
  }
  const featurizeSeconds = activity.featurizeShard?.seconds ?? 0;
  // Featurized examples: every training row at every checkpoint, plus the queries.
  const featurized = (N + Q) * 3;
  const peak = Math.max(...reports.map((r) => r.maxRssMb));
  log(`peak RSS per worker (MiB): ${reports.map((r) => r.maxRssMb.toFixed(0)).join(', ')}`);
  log(
    `bytes written: ${(bytes / 2 ** 20).toFixed(1)} MiB (features ${(featureBytes / 2 ** 20).toFixed(1)} MiB)`,
  );
  console.log(
    JSON.stringify({
      examples: N,
      checkpoints: 3,
      queries: Q,
      workers: WORKERS,
      backend,
      wall_s: Number(wall.toFixed(2)),
      stage_wall_s: stages,
      activity_seconds: Object.fromEntries(
        Object.entries(activity).map(([k, v]) => [k, Number(v.seconds.toFixed(2))]),
      ),
      featurize_ex_s: Number(
        (featurized / Math.max(1e-9, stages.shards + stages['featurize-queries'])).toFixed(1),
      ),
      featurize_ex_s_per_worker: Number((featurized / Math.max(1e-9, featurizeSeconds)).toFixed(1)),
      bytes_written: bytes,
      feature_bytes: featureBytes,
      input_bytes: trainData.bytes + queryData.bytes,
      peak_rss_mb: Number(peak.toFixed(1)),
      worker_rss_mb: reports.map((r) => Number(r.maxRssMb.toFixed(1))),
      max_history_events: maxEvents,
    }),
  );
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench:scale: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
