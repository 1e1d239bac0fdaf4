/**
 * bench:main — the main job's attribution (lib/jobs/mainJob.ts, `npm start`'s spec, under its own
 * name): Fashion-MNIST (10% of training labels flipped), the MLP 784-256-128-10 with 3
 * checkpoints, TracIn-CP over all layers for 60,000 training examples × 100 queries, projector
 * none (every Dense layer stores its factors a, δ: scores are (aᵢ·a_q)(δᵢ·δ_q), exact), and the
 * influence self-score over the last layer with the Gram of a Kronecker sketch of its stored
 * factors; through Temporal and S3 with worker processes. This run's cached features (the same
 * files as `npm start`'s: features are addressed by what they hold, not by the run's name, so
 * the next `npm start` featurizes again) and results are deleted first, so every run does the
 * work.
 *
 *   npm run bench:main [-- --workers 2 --queries 100 --batch B --runs 1 --captum --curvature kfac]
 *
 * Prints stage times, each worker's training-shard activities in order (of the last run: with
 * --runs 1 each worker's first is its cold one), bytes written, scoring GFLOP/s, featurize ex/s
 * per worker beside the gradient engine's own rate on the same model measured in this process
 * before and after the run (what bench:grads measures; the ratio is to the faster), the
 * mislabel audit, and with --captum Captum's TracInCP on the same data and checkpoints
 * (bench/captum/setup.sh installs it from PyPI) with the agreement of its scores with ours. Last
 * line: one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readColumn, readTable } from '../lib/arrow/columns';
import { loadConfig } from '../lib/config';
import { readAllParts } from '../lib/data/partitionedDataset';
import { MAIN_JOB, mainJobSpec, prepareMainJob } from '../lib/jobs/mainJob';
import { checkpointPrefix, readCheckpointManifest } from '../lib/model/checkpoints';
import { buildPlan } from '../lib/pipeline/buildPlan';
import { RunContext } from '../lib/pipeline/runContext';
import { type RunSpecInput, selfScoreName } from '../lib/pipeline/runSpec';
import { buildReport } from '../lib/report/buildReport';
import { S3Store } from '../lib/store/s3Store';
import { initBackend } from '../lib/tf/backend';
import { computeLayout, layoutEnv } from '../lib/tf/computeLayout';
import { nativeCompute } from '../lib/tf/native';
import { deletePrefixes, runPrefixes } from '../test/support/runPrefixes';
import { ensureStack } from '../test/support/stack';
import { connectClient } from '../workers/connection';
import { specEngineRate } from './engineRate';
import { hostLoopMs } from './hostLoop';
import { attributeOnFleet, phaseSeconds, scoreInFeaturizeSeconds } from './runStats';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    queries: { type: 'string', default: '100' },
    /** Featurize batch size; default the main job's (part of the features' address). */
    batch: { type: 'string' },
    /** Run Captum's TracInCP on the same data (needs bash bench/captum/setup.sh first). */
    captum: { type: 'boolean', default: false },
    /**
     * Attributions on the same worker processes, the run's cached files deleted before each: the
     * last is measured (as on long-lived workers; the first also pays V8's compilation of the
     * code the warm-up did not reach). Every run's time is printed.
     */
    runs: { type: 'string', default: '1' },
    /**
     * The self-score's curvature: the main job's (default: the Gram of a Kronecker sketch), or
     * `kfac`: K-FAC from the unsketched factors, what this benchmark measured before the main job
     * had its sketch (to compare the two in one session).
     */
    curvature: { type: 'string' },
  },
});
if (values.curvature !== undefined && values.curvature !== 'kfac') {
  throw new Error(`--curvature: only kfac can be asked for, got "${values.curvature}"`);
}
const WORKERS = Number(values.workers);
/**
 * TensorFlow's threads per compute process as the layout splits the cores between them (one
 * each for two processes on two cores: with TensorFlow's default of every core each, their
 * featurize took 10% more CPU and bench:main 0.3-0.5 s longer, BENCHMARKS.md). Not the layout's
 * glibc settings (NATIVE_MALLOC): its fixed 4 MiB mmap threshold maps every larger ArrayBuffer
 * afresh, and bench:main took 0.8 s longer with them, in alternation.
 */
const LAYOUT = computeLayout(
  nativeCompute(loadConfig().backend),
  availableParallelism(),
  WORKERS,
  1,
);
const WORKER_ENV = layoutEnv(LAYOUT, process.env, { malloc: false });
const Q = Number(values.queries);
const log = (m: string) => console.log(`[main] ${m}`);
const VENV_PYTHON = join(import.meta.dirname, 'captum', '.venv', 'bin', 'python');

/** Writes the data, labels and checkpoint weights Captum's script reads (raw little-endian). */
async function exportForCaptum(
  ctx: RunContext,
  train: Awaited<ReturnType<typeof readAllParts>>,
  query: Awaited<ReturnType<typeof readAllParts>>,
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tda-captum-'));
  const bytes = (a: Float32Array | Int32Array) =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const dim = (train.x as Float32Array).length / train.rows;
  writeFileSync(join(dir, 'train_x.f32'), bytes(train.x as Float32Array));
  writeFileSync(join(dir, 'train_y.i32'), bytes(train.labels));
  writeFileSync(join(dir, 'query_x.f32'), bytes((query.x as Float32Array).subarray(0, Q * dim)));
  writeFileSync(join(dir, 'query_y.i32'), bytes(query.labels.subarray(0, Q)));
  const manifest = await readCheckpointManifest(ctx.store, MAIN_JOB.checkpoints);
  let layers: { in: number; out: number }[] = [];
  for (const [c, ck] of manifest.checkpoints.entries()) {
    const model = await ctx.model(checkpointPrefix(MAIN_JOB.checkpoints, ck));
    const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
    layers = dense.map((l) => {
      const [kernel, bias] = l.getWeights();
      const [i, o] = kernel.shape;
      const k = dense.indexOf(l);
      writeFileSync(join(dir, `ck${c}_${k}_kernel.f32`), bytes(kernel.dataSync() as Float32Array));
      writeFileSync(join(dir, `ck${c}_${k}_bias.f32`), bytes(bias.dataSync() as Float32Array));
      return { in: i, out: o };
    });
  }
  writeFileSync(
    join(dir, 'meta.json'),
    JSON.stringify({
      train: train.rows,
      queries: Q,
      dim,
      layers,
      checkpoints: manifest.checkpoints.map((c) => ({ learningRate: c.learningRate })),
    }),
  );
  return dir;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const probe = await connectClient(config).catch(() => undefined);
  if (probe) await probe.connection.close();
  else ensureStack();
  const backend = await initBackend(config.backend);
  const s3 = new S3Store(config.s3);
  await prepareMainJob(s3, log);

  const spec: RunSpecInput = {
    ...mainJobSpec(Q),
    name: 'bench-main',
    ...(values.curvature === 'kfac'
      ? { selfScore: { kind: 'influence', layers: 'last', curvature: 'kfac' } }
      : {}),
    ...(values.batch ? { batchSize: Number(values.batch) } : {}),
  };
  // The plan names this run's feature and result keys: delete them so the run does the work.
  const ctx = new RunContext(s3);
  const plan = await buildPlan(s3, spec, (k) => ctx.model(k));
  const prefixes = runPrefixes(plan);
  const reset = () => deletePrefixes(s3, [prefixes.run, ...prefixes.features]);
  const deleted = await reset();
  log(`backend ${backend}, ${WORKERS} workers; deleted ${deleted} cached objects of this run`);

  const engineBefore = await specEngineRate(s3, spec);
  const loopBefore = hostLoopMs();
  const id = randomUUID().slice(0, 8);
  const { watched, reports, stats, stackCpu, walls } = await attributeOnFleet(
    config,
    s3,
    spec,
    {
      name: `main-${id}`,
      workers: WORKERS,
      concurrency: 1,
      env: WORKER_ENV,
      runs: Number(values.runs),
      reset,
    },
    log,
  );
  log(`attribution done in ${watched.wall.toFixed(1)} s`);
  const hostLoop = [loopBefore, hostLoopMs()];

  // Scoring work: per checkpoint and factored layer, two products n × q × (in + out).
  const meta = (await ctx.features(plan, 'train', 0, 0)).meta;
  const width = meta.layers.reduce((s, l) => s + l.size, 0);
  const n = plan.train.rows;
  const q = plan.query.rows;
  const C = plan.checkpoints.length;
  const scoreFlop = 2 * n * q * width * C;
  const denseParams = meta.layers.reduce(
    (s, l) => s + (l.factors ? l.factors.inDim * l.factors.outDim : l.size),
    0,
  );
  // A featurize that scored its shard from memory did the score step's work: counted there.
  const scoredInFeaturize = scoreInFeaturizeSeconds(stats.activity);
  const scoreSeconds = (stats.activity.scoreShard?.seconds ?? 0) + scoredInFeaturize;
  const featurizeSeconds = (stats.activity.featurizeShard?.seconds ?? 0) - scoredInFeaturize;
  const featurized = (n + q) * C;
  log(
    `stored per example and checkpoint: ${width} numbers (layers ${meta.layers
      .map((l) => `${l.name} ${l.factors ? `${l.factors.inDim}+${l.factors.outDim}` : l.size}`)
      .join(', ')}) for ${denseParams} parameters`,
  );

  // The engine's own rate on the same model and rows, now that the workers are gone, beside the
  // rate before the run: the ratio is to the faster (bench/engineRate.ts).
  const engine = [engineBefore, await specEngineRate(s3, spec)];
  log(
    `engine (in process, factors, exact): ${engine.map((e) => e.toFixed(0)).join(' before, ')} after, ex/s; checkpoint ${plan.checkpoints[C - 1].step}`,
  );

  const { detection } = await buildReport(s3, watched.summary, { title: 'bench:main' });
  const found = (f: number) => detection?.foundAt.find((x) => x.fraction === f)?.found ?? null;

  let captum: Record<string, unknown> | null = null;
  if (values.captum) {
    if (!existsSync(VENV_PYTHON)) {
      throw new Error('--captum: no venv at bench/captum/.venv (run bash bench/captum/setup.sh)');
    }
    const train = await readAllParts(s3, MAIN_JOB.train);
    const query = await readAllParts(s3, MAIN_JOB.query);
    const dir = await exportForCaptum(ctx, train, query);
    log(`Captum TracInCP on the same data and checkpoints (${dir})...`);
    const out = execFileSync(
      VENV_PYTHON,
      [join(import.meta.dirname, 'captum', 'tracin_cp.py'), dir],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 26,
      },
    );
    captum = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
    // Agreement on our top-k lists: Captum's scores at our proponents, and its own top-k.
    const cs = new Float32Array(readFileSync(join(dir, 'captum_scores.f32')).buffer.slice(0));
    const t = readTable(await s3.get(watched.summary.files.topk));
    const col = (name: string) => readColumn<Int32Array>(t, name, 'int32').values;
    const [tq, tk, ti] = [col('query'), col('kind'), col('index')];
    const ts = readColumn<Float64Array>(t, 'score', 'float64').values;
    let maxRel = 0;
    let overlap = 0;
    let lists = 0;
    for (let qi = 0; qi < q; qi++) {
      const rows = Array.from(tq.keys()).filter((r) => tq[r] === qi && tk[r] === 1);
      const pro = { index: rows.map((r) => ti[r]), score: rows.map((r) => ts[r]) };
      if (rows.length === 0) continue;
      const row = cs.subarray(qi * n, (qi + 1) * n);
      const scale = Math.max(...pro.score.map(Math.abs));
      pro.index.forEach((i: number, r: number) => {
        maxRel = Math.max(maxRel, Math.abs(row[i] - pro.score[r]) / scale);
      });
      const k = pro.index.length;
      const top = Array.from(row.keys())
        .sort((a, b) => row[b] - row[a])
        .slice(0, k);
      overlap += top.filter((i) => pro.index.includes(i)).length / k;
      lists++;
    }
    captum.max_rel_diff_at_our_topk = maxRel;
    captum.topk_overlap = overlap / Math.max(1, lists);
    log(`Captum: ${JSON.stringify(captum)}`);
  }

  const peak = Math.max(...reports.map((r) => r.maxRssMb));
  const result = {
    train: n,
    queries: q,
    checkpoints: C,
    workers: WORKERS,
    tf_threads_per_worker: WORKER_ENV.TF_NUM_INTRAOP_THREADS ?? null,
    backend,
    batch_size: plan.spec.batchSize,
    projector: plan.spec.projector.kind === 'none' ? 'none (exact factors)' : plan.spec.projector,
    self_score: selfScoreName(plan.spec.selfScore),
    attribution_s: Number(watched.wall.toFixed(2)),
    // With --runs N, every run on the same workers in order (attribution_s is the last).
    attribution_runs_s: walls,
    // A fixed loop's milliseconds before and after the runs: the host's speed then (hostLoop.ts).
    host_loop_ms: hostLoop,
    // Each compute process's warm-up before it polled (lib/pipeline/warmUp.ts; not in the run).
    worker_warm_up_s: reports.map((r) => Number((r.warmUpSeconds ?? 0).toFixed(2))),
    stage_wall_s: stats.stages,
    shard_activity_s: stats.shardSeconds,
    activity_seconds: Object.fromEntries(
      Object.entries(stats.activity).map(([k, v]) => [k, Number(v.seconds.toFixed(2))]),
    ),
    // Inside the activities, summed over them: where their seconds went (lib/phaseTimes.ts).
    activity_phase_seconds: phaseSeconds(stats.activity),
    activity_phase_cpu_seconds: phaseSeconds(stats.activity, 'phasesCpu'),
    stack_cpu_s: stackCpu,
    stored_numbers_per_example: width,
    parameters: denseParams,
    feature_bytes: stats.featureBytes,
    bytes_written: stats.bytes,
    score_gflop: Number((scoreFlop / 1e9).toFixed(1)),
    score_gflop_s: Number((scoreFlop / 1e9 / Math.max(1e-9, scoreSeconds)).toFixed(2)),
    featurize_ex_s_per_worker: Number((featurized / Math.max(1e-9, featurizeSeconds)).toFixed(0)),
    engine_ex_s: engine.map((e) => Number(e.toFixed(0))),
    featurize_vs_engine: Number(
      (featurized / Math.max(1e-9, featurizeSeconds) / Math.max(...engine)).toFixed(3),
    ),
    peak_rss_mb: Number(peak.toFixed(1)),
    max_history_events: stats.maxEvents,
    flipped_found_top10: found(0.1),
    flipped_found_top20: found(0.2),
    auc: detection?.auc ?? null,
    captum,
    speedup_vs_captum:
      captum && typeof captum.influence_s === 'number'
        ? Number((captum.influence_s / watched.wall).toFixed(1))
        : null,
  };
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench:main: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
