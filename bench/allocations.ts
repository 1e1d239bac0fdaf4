/**
 * bench:alloc — the short-lived ArrayBuffers of one training shard's featurize (scored from
 * memory, with the influence self-score's curvature partials), by where they were made. V8 starts
 * a full collection per 64 MiB of ArrayBuffer memory allocated, and in bench:main's workers those
 * collections' marking was 1.8–2.6 CPU-s of a run's 15–20 (BENCHMARKS.md, nineteenth session):
 * this counts what drives them. A shard of bench:main's shape (MLP 784-256-128-10, 3 checkpoints,
 * exact factors, 10,000 rows, 100 queries, the main job's self-score), on bench:scale's synthetic
 * rows and model (bench/syntheticData.ts) and a local store in a temporary folder; the second
 * shard is counted, after a first one warmed the process's pools.
 *
 *   npm run bench:alloc [-- --rows 10000 --min-kib 64]
 *
 * Counted: typed arrays and ArrayBuffers made by JavaScript (the global constructors are wrapped
 * for this process only) and every dataSync's array; not Node's own Buffers (a store's reads), nor
 * a slice or map of an array made in native code (it takes the unwrapped constructor): a lower
 * bound.
 * Last line: one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    'min-kib': { type: 'string', default: '64' },
  },
});
const ROWS = Number(args.rows);
const MIN_BYTES = Number(args['min-kib']) * 1024;

const sites = new Map<string, { count: number; bytes: number }>();
let counting = false;

/** The first frames of the caller in this project (not node_modules, not this file). */
function site(skip: number): string {
  const frames = (new Error().stack ?? '').split('\n').slice(skip);
  const ours = frames.filter((l) => l.includes('/lib/') && !l.includes('node_modules'));
  const pick = ours.length > 0 ? ours : frames.filter((l) => l.includes('node_modules'));
  return pick
    .slice(0, 2)
    .map((l) =>
      l
        .trim()
        .replace(/^at /, '')
        .replace(/\(?file:\/\/|\(/, '')
        .replace(/\)$/, ''),
    )
    .map((l) => l.replace(/^.*?\/(lib|node_modules)\//, '$1/'))
    .join(' < ');
}

function count(bytes: number, where: () => string): void {
  if (!counting || bytes < MIN_BYTES) return;
  const k = where();
  const s = sites.get(k) ?? { count: 0, bytes: 0 };
  s.count++;
  s.bytes += bytes;
  sites.set(k, s);
}

type TypedArrayClass = new (...args: unknown[]) => ArrayBufferView;

/** Wraps a global typed-array constructor so that arrays it allocates (not views) are counted. */
function wrap(name: string): void {
  const g = globalThis as unknown as Record<string, TypedArrayClass>;
  const Base = g[name];
  g[name] = class extends Base {
    // Arrays made by the original class (in native code, by other realms) are still instances.
    static override [Symbol.hasInstance](x: unknown) {
      return x instanceof Base;
    }
    constructor(...a: unknown[]) {
      super(...a);
      if (!(a[0] instanceof ArrayBuffer || a[0] instanceof SharedArrayBuffer)) {
        count(this.byteLength, () => site(3));
      }
    }
  };
}
for (const name of ['Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array', 'Uint8Array']) {
  wrap(name);
}
{
  const Base = ArrayBuffer;
  (globalThis as unknown as Record<string, unknown>).ArrayBuffer = class extends Base {
    static override [Symbol.hasInstance](x: unknown) {
      return x instanceof Base;
    }
    constructor(n: number) {
      super(n);
      count(n, () => site(3));
    }
  };
}

// Imported after the constructors are wrapped, so their modules see the wrapped ones.
const tf = await import('@tensorflow/tfjs-core');
const { initBackend } = await import('../lib/tf/backend');
const { FsStore } = await import('../lib/store/fsStore');
const { RunContext } = await import('../lib/pipeline/runContext');
const { buildPlan } = await import('../lib/pipeline/buildPlan');
const { storePlan } = await import('../lib/pipeline/storePlan');
const { featurizeShard } = await import('../lib/pipeline/featurizeShard');
const { mainJobSpec } = await import('../lib/jobs/mainJob');
const { prototypes, trainSyntheticModel, writeSynthetic } = await import('./syntheticData');

const backend = await initBackend('auto', () => {});
const proto = tf.Tensor.prototype as unknown as { dataSync: () => ArrayBufferView };
const dataSync = proto.dataSync;
proto.dataSync = function (this: unknown) {
  const v = dataSync.call(this);
  count(v.byteLength, () => `dataSync < ${site(3).split(' < ')[0]}`);
  return v;
};

const dir = mkdtempSync(join(tmpdir(), 'tda-bench-alloc-'));
try {
  const store = new FsStore(dir);
  const ctx = new RunContext(store);
  // bench:scale's synthetic rows and MLP 784-256-128-10 (3 checkpoints), one part per shard.
  const protos = prototypes(1);
  const train = await writeSynthetic(store, 'train', 2 * ROWS, 2, protos, ROWS);
  await writeSynthetic(store, 'query', 100, 3, protos, ROWS);
  await trainSyntheticModel(store, 'model.json', train.first, 3);
  // The main job's featurize and self-score settings on these rows.
  const spec = {
    ...mainJobSpec(100),
    name: 'bench-alloc',
    checkpoints: 'model.json',
    train: 'train',
    query: 'query',
    queryLimit: undefined,
    shardSize: ROWS,
  };
  const plan = await buildPlan(store, spec, (k) => ctx.model(k));
  const planKey = await storePlan(store, plan);
  const checkpoints = plan.checkpoints.map((_, c) => c);
  await featurizeShard(ctx, { planKey, set: 'query', shard: 0, checkpoints });
  await featurizeShard(ctx, { planKey, set: 'train', shard: 0, checkpoints, score: true });
  counting = true;
  const r = await featurizeShard(ctx, {
    planKey,
    set: 'train',
    shard: 1,
    checkpoints,
    score: true,
  });
  counting = false;
  if (!r.scored) throw new Error('the counted shard was not scored from memory');
  await ctx.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const MiB = 2 ** 20;
const bySite = [...sites.entries()]
  .map(([where, s]) => ({ where, count: s.count, mib: Number((s.bytes / MiB).toFixed(1)) }))
  .sort((a, b) => b.mib - a.mib);
const total = bySite.reduce((s, x) => s + x.mib, 0);
console.log(`[alloc] backend ${backend}, one shard of ${ROWS} rows × 3 checkpoints:`);
for (const s of bySite.slice(0, 15)) {
  console.log(`${s.mib.toFixed(1).padStart(8)} MiB ${String(s.count).padStart(5)}×  ${s.where}`);
}
console.log(
  JSON.stringify({
    rows: ROWS,
    checkpoints: 3,
    backend,
    min_kib: MIN_BYTES / 1024,
    total_mib: Number(total.toFixed(1)),
    sites: bySite.slice(0, 15),
  }),
);
