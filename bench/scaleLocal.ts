/**
 * bench:scale-local — bench:scale's workload (synthetic 784-dimensional examples, an MLP
 * 784-256-128-10, Kronecker 32×32 projection per layer in float16, TracIn over the checkpoints,
 * top-100) in ONE process on a filesystem store, with no Temporal and no S3: the stages of the
 * in-process runner (lib/pipeline/runInProcess.ts) timed one by one. It is what the lent GPU
 * machine runs (infra/gpu-check.sh --run), where no stack can be started.
 *
 *   npm run bench:scale-local -- --examples 10000 [--queries 1000] [--checkpoints 3]
 *     [--shard-size 10000] [--engine tf|js] [--store DIR] [--keep] [--time-limit SECONDS]
 *
 * Featurize throughput counts every featurized example (train and queries, at each checkpoint);
 * scoring GFLOP/s counts the products' 2 · train · queries · stored dims per checkpoint over the
 * score stage's seconds (top-k and the Arrow partials included). Last line: one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { buildPlan } from '../lib/pipeline/buildPlan';
import { featurizeShard } from '../lib/pipeline/featurizeShard';
import { reduceInProcess } from '../lib/pipeline/reduceInProcess';
import { RunContext } from '../lib/pipeline/runContext';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import { scoreShard } from '../lib/pipeline/scoreShard';
import { storePlan } from '../lib/pipeline/storePlan';
import { FsStore } from '../lib/store/fsStore';
import { initBackend } from '../lib/tf/backend';
import { prototypes, trainSyntheticModel, writeSynthetic } from './syntheticData';

const { values } = parseArgs({
  options: {
    examples: { type: 'string', default: '10000' },
    queries: { type: 'string', default: '1000' },
    checkpoints: { type: 'string', default: '3' },
    'shard-size': { type: 'string', default: '10000' },
    /** Kronecker projection arithmetic: 'tf' (backend matMul) or 'js' (bit-identical anywhere). */
    engine: { type: 'string', default: 'tf' },
    /** Store folder (default a new temporary one, removed at the end unless --keep). */
    store: { type: 'string' },
    keep: { type: 'boolean', default: false },
    /**
     * Seconds after the process started past which no further training shard is started; the
     * figures then cover the shards done (and there is no reduce).
     */
    'time-limit': { type: 'string' },
  },
});
const positive = (name: string): number => {
  const v = Number(values[name as keyof typeof values]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const N = positive('examples');
const Q = positive('queries');
const C = positive('checkpoints');
const SHARD = positive('shard-size');
if (values.engine !== 'tf' && values.engine !== 'js') {
  throw new Error(`--engine must be tf or js, got "${values.engine}"`);
}
const TIME_LIMIT = values['time-limit'] === undefined ? Infinity : Number(values['time-limit']);
if (!(TIME_LIMIT > 0)) throw new Error(`--time-limit must be a positive number of seconds`);
const log = (m: string) => console.log(`[scale-local] ${m}`);
const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function main(): Promise<void> {
  const config = loadConfig();
  const backend = await initBackend(config.backend);
  const dir = values.store ?? mkdtempSync(path.join(tmpdir(), 'tda-scale-local-'));
  const store = new FsStore(dir);
  const seed = (Date.now() >>> 0) ^ process.pid;
  log(`N=${N} queries=${Q} checkpoints=${C} shard=${SHARD} backend=${backend} store=${dir}`);

  let t = performance.now();
  const protos = prototypes(seed);
  const train = await writeSynthetic(store, 'train', N, seed + 1, protos, SHARD);
  const query = await writeSynthetic(store, 'query', Q, seed + 2, protos, SHARD);
  const dataSeconds = seconds(t);
  log(
    `data written: ${((train.bytes + query.bytes) / 2 ** 20).toFixed(1)} MiB in ${dataSeconds.toFixed(1)} s`,
  );

  t = performance.now();
  await trainSyntheticModel(store, 'model/checkpoints.json', train.first, C);
  log(`model trained, ${C} checkpoints saved in ${seconds(t).toFixed(1)} s`);

  const spec: RunSpecInput = {
    name: 'scale-local',
    checkpoints: 'model/checkpoints.json',
    train: 'train',
    query: 'query',
    method: 'tracin',
    projector: {
      kind: 'kronecker',
      k1: 32,
      k2: 32,
      seed: 0,
      dtype: 'float16',
      engine: values.engine as 'tf' | 'js',
    },
    topK: 100,
    shardSize: SHARD,
    queryBlock: 1000,
  };
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, spec, (key) => ctx.model(key));
  const planKey = await storePlan(store, plan);
  ctx.rememberPlan(planKey, plan);

  // The in-process runner's order, with the featurize and score stages timed apart.
  let featurizeS = 0;
  let scoreS = 0;
  t = performance.now();
  const checkpoints = plan.checkpoints.map((_, c) => c);
  for (let s = 0; s < plan.query.shards.length; s++) {
    await featurizeShard(ctx, { planKey, set: 'query', shard: s, checkpoints });
  }
  featurizeS += seconds(t);
  const wall0 = performance.now();
  let done = 0;
  let trainRows = 0;
  for (let s = 0; s < plan.train.shards.length; s++) {
    if (s > 0 && performance.now() / 1000 > TIME_LIMIT) {
      log(`time limit: stopping after ${s} of ${plan.train.shards.length} shards`);
      break;
    }
    t = performance.now();
    await featurizeShard(ctx, { planKey, set: 'train', shard: s, checkpoints });
    featurizeS += seconds(t);
    t = performance.now();
    await scoreShard(ctx, planKey, s);
    scoreS += seconds(t);
    done = s + 1;
    trainRows += plan.train.shards[s].end - plan.train.shards[s].start;
    if ((s + 1) % 10 === 0 || s + 1 === plan.train.shards.length) {
      log(`shard ${s + 1}/${plan.train.shards.length} (${seconds(wall0).toFixed(0)} s)`);
    }
  }
  const complete = done === plan.train.shards.length;
  t = performance.now();
  // The reduce needs every shard's partial results.
  const summary = complete ? await reduceInProcess(ctx, planKey) : undefined;
  const reduceS = seconds(t);
  const dim = (await ctx.queryFeatures(plan, 0)).grads.dim;
  const featurized = (trainRows + Q) * C;
  const scoreFlop = 2 * trainRows * Q * dim * C;
  if (!values.keep && !values.store) rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      examples: N,
      complete,
      examples_scored: trainRows,
      queries: Q,
      checkpoints: C,
      backend,
      engine: values.engine,
      feature_dim: dim,
      data_write_s: Number(dataSeconds.toFixed(2)),
      featurize_s: Number(featurizeS.toFixed(2)),
      score_s: Number(scoreS.toFixed(2)),
      reduce_s: Number(reduceS.toFixed(2)),
      featurize_ex_s: Number((featurized / featurizeS).toFixed(1)),
      score_gflops: Number((scoreFlop / scoreS / 1e9).toFixed(2)),
      top_self_influence: summary?.topSelfInfluence.slice(0, 3).map((e) => e.id),
    }),
  );
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench:scale-local: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
