/**
 * bench:scale — the attribution pipeline at scale through the real stack: synthetic
 * 784-dimensional examples, an MLP 784-256-128-10 with 3 checkpoints, Kronecker projection
 * k1 = k2 = 32 per layer (1024 + 1024 + 32 × 10 dims: the 10 logits are kept exact) in float16, 1,000 queries, top-100, scored by worker
 * PROCESSES (one per core with one activity slot, on wasm and on native TensorFlow's CPU build;
 * lib/tf/computeLayout.ts) via the attribute workflow.
 *
 *   npm run bench:scale -- --examples 10000 [--queries 1000] [--workers N] [--slots S] [--shard-size 10000]
 *     [--engine tf|js] [--self-score tracin|influence] [--projector kronecker|none]
 *     [--curvature gram|kfac] [--keep]
 *
 * Reports wall time per stage (from the progress query), activity seconds per kind and their
 * phases (from the histories), examples/s featurized beside the gradient engine's own rate on the
 * same model and settings before and after the run (bench/engineRate.ts; the ratio is to the
 * faster), bytes written, peak RSS per worker and the longest workflow history. Last line: one
 * JSON object. The run's data, model, features and results are deleted from the store at the end
 * (each run writes its own: 5.3 GB at 1M) unless `--keep`.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import { S3Store } from '../lib/store/s3Store';
import { initBackend } from '../lib/tf/backend';
import { computeLayout, layoutEnv } from '../lib/tf/computeLayout';
import { nativeCompute } from '../lib/tf/native';
import { deletePrefixes, runPrefixes } from '../test/support/runPrefixes';
import { ensureStack } from '../test/support/stack';
import { connectClient } from '../workers/connection';
import { specEngineRate } from './engineRate';
import { attributeOnFleet, phaseSeconds, scoreInFeaturizeSeconds } from './runStats';
import { prototypes, trainSyntheticModel, writeSynthetic } from './syntheticData';

const { values } = parseArgs({
  options: {
    examples: { type: 'string', default: '10000' },
    queries: { type: 'string', default: '1000' },
    /** Compute worker processes; default the backend's layout (lib/tf/computeLayout.ts). */
    workers: { type: 'string' },
    /** Activity slots per compute process; default the layout's. */
    slots: { type: 'string' },
    'shard-size': { type: 'string', default: '10000' },
    /** Kronecker projection arithmetic: 'tf' (backend matMul) or 'js' (bit-identical anywhere). */
    engine: { type: 'string', default: 'tf' },
    /** The mislabel ranking: 'tracin' (computed while scoring) or 'influence' (last layer: curvature reduce, a second pass per shard). */
    'self-score': { type: 'string', default: 'tracin' },
    /** 'kronecker' (32×32, float16) or 'none' (exact: every Dense layer stores its factors). */
    projector: { type: 'string', default: 'kronecker' },
    /** The influence self-score's curvature: 'gram' (stored vectors) or 'kfac' (from factors). */
    curvature: { type: 'string', default: 'gram' },
    /** Keep the run's data, model, features and results in the store (deleted at the end otherwise). */
    keep: { type: 'boolean', default: false },
  },
});
if (values.projector !== 'kronecker' && values.projector !== 'none') {
  throw new Error(`--projector must be kronecker or none, got "${values.projector}"`);
}
if (values.curvature !== 'gram' && values.curvature !== 'kfac') {
  throw new Error(`--curvature must be gram or kfac, got "${values.curvature}"`);
}
if (values['self-score'] !== 'tracin' && values['self-score'] !== 'influence') {
  throw new Error(`--self-score must be tracin or influence, got "${values['self-score']}"`);
}
const N = Number(values.examples);
const Q = Number(values.queries);
const LAYOUT = computeLayout(
  nativeCompute(process.env.TDA_BACKEND ?? 'auto'),
  availableParallelism(),
  values.workers === undefined ? undefined : Number(values.workers),
  values.slots === undefined ? undefined : Number(values.slots),
);
const WORKERS = LAYOUT.processes;
const SHARD = Number(values['shard-size']);
const ROWS_PER_PART = SHARD; // one part per shard: a featurize reads only its own rows

const log = (m: string) => console.log(`[scale] ${m}`);

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
  log(`N=${N} queries=${Q} shard=${SHARD} backend=${backend} prefix=${prefix}; ${LAYOUT.why}`);

  let t = performance.now();
  const protos = prototypes(seed);
  const trainData = await writeSynthetic(s3, `${prefix}/train`, N, seed + 1, protos, ROWS_PER_PART);
  const queryData = await writeSynthetic(s3, `${prefix}/query`, Q, seed + 2, protos, ROWS_PER_PART);
  log(
    `data written: ${((trainData.bytes + queryData.bytes) / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  // A real model: trained on the first part, 3 checkpoints.
  t = performance.now();
  const manifestKey = `${prefix}/model/checkpoints.json`;
  await trainSyntheticModel(s3, manifestKey, trainData.first, 3);
  log(`model trained, 3 checkpoints saved in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const spec: RunSpecInput = {
    name: 'scale',
    checkpoints: manifestKey,
    train: `${prefix}/train`,
    query: `${prefix}/query`,
    method: 'tracin',
    projector:
      values.projector === 'none'
        ? { kind: 'none', dtype: 'float32' }
        : {
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
        ? { kind: 'influence', layers: 'last', curvature: values.curvature as 'gram' | 'kfac' }
        : { kind: 'tracin' },
  };

  const engineBefore = await specEngineRate(s3, spec);
  const {
    watched,
    reports,
    stackCpu,
    stats: { stages, activity, maxEvents, featureBytes, bytes, plan },
  } = await attributeOnFleet(
    config,
    s3,
    spec,
    {
      name: `scale-${id}`,
      workers: WORKERS,
      concurrency: LAYOUT.slots,
      env: layoutEnv(LAYOUT, process.env),
    },
    log,
  );
  const wall = watched.wall;
  log(`workflow done in ${wall.toFixed(1)} s`);
  // Less any score step done inside a featurize (scoring from memory: float32 files only).
  const featurizeSeconds =
    (activity.featurizeShard?.seconds ?? 0) - scoreInFeaturizeSeconds(activity);
  // Featurized examples: every training row at every checkpoint, plus the queries.
  const featurized = (N + Q) * 3;
  const perWorker = featurized / Math.max(1e-9, featurizeSeconds);
  // The engine's own rate on the run's last model, rows and featurize settings, now that the
  // workers are gone (what bench:grads measures; issue 15 asks the pipeline to reach 2/3 of it),
  // against the faster of this and the rate before the run.
  const engine = [engineBefore, await specEngineRate(s3, spec)];
  const ratio = perWorker / Math.max(...engine);
  log(
    `featurize ${perWorker.toFixed(0)} ex/s per worker (activity time), engine ${engine.map((e) => e.toFixed(0)).join(' before, ')} after, in process: ${ratio.toFixed(2)} of the faster`,
  );
  const peak = Math.max(...reports.map((r) => r.maxRssMb));
  log(`peak RSS per worker (MiB): ${reports.map((r) => r.maxRssMb.toFixed(0)).join(', ')}`);
  for (const r of reports) log(`worker ${r.pid} at its sampled peak: ${JSON.stringify(r.peak)}`);
  log(
    `bytes written: ${(bytes / 2 ** 20).toFixed(1)} MiB (features ${(featureBytes / 2 ** 20).toFixed(1)} MiB)`,
  );
  if (!values.keep) {
    const written = runPrefixes(plan);
    const n = await deletePrefixes(s3, [`${prefix}/`, written.run, ...written.features]);
    log(`deleted the run's ${n} objects (data, model, features, results; --keep keeps them)`);
  }
  console.log(
    JSON.stringify({
      examples: N,
      checkpoints: 3,
      queries: Q,
      workers: WORKERS,
      slots: LAYOUT.slots,
      backend,
      projector: values.projector,
      self_score: values['self-score'],
      curvature: values.curvature,
      wall_s: Number(wall.toFixed(2)),
      stage_wall_s: stages,
      activity_seconds: Object.fromEntries(
        Object.entries(activity).map(([k, v]) => [k, Number(v.seconds.toFixed(2))]),
      ),
      featurize_ex_s: Number(
        (featurized / Math.max(1e-9, stages.shards + stages['featurize-queries'])).toFixed(1),
      ),
      featurize_ex_s_per_worker: Number(perWorker.toFixed(1)),
      engine_ex_s: engine.map((e) => Number(e.toFixed(0))),
      featurize_vs_engine: Number(ratio.toFixed(3)),
      activity_phase_seconds: phaseSeconds(activity),
      activity_phase_cpu_seconds: phaseSeconds(activity, 'phasesCpu'),
      stack_cpu_s: stackCpu,
      bytes_written: bytes,
      feature_bytes: featureBytes,
      input_bytes: trainData.bytes + queryData.bytes,
      peak_rss_mb: Number(peak.toFixed(1)),
      worker_rss_mb: reports.map((r) => Number(r.maxRssMb.toFixed(1))),
      worker_peak: reports.map((r) => r.peak),
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
