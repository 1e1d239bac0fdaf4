/**
 * A shard's featurize as one activity does it (over ~300 lines: the resumable chunk loop, where
 * its rows are written and its commit share their state, and read best together).
 */
import { STREAM_END, splitStream, streamChunk } from '../arrow/columns';
import { concatBytes } from '../bytes';
import type { Dataset } from '../data/dataset';
import {
  type FeatureRows,
  factorScratch,
  featureRowsFit,
  featureRowsView,
} from '../grad/featurize';
import type { FactorScratch } from '../grad/layers/handler';
import type { FeaturizeSpec } from '../grad/types';
import { PhaseTimes } from '../phaseTimes';
import { ChunkedUpload, type ChunkedUploadState } from '../store/chunkedUpload';
import { readManifest, Transaction } from '../store/commit';
import { activeBackend } from '../tf/backend';
import { type FeatureArrayLease, leaseFeatureArrays } from './featureArrays';
import { openFeatureFile, writeFeatureFile } from './featureFile';
import { featurizeDatasetYielding } from './featurizeDataset';
import { checkInputColumns, inputColumnsOf } from './inputColumns';
import type { Shard } from './plan';
import type { RunContext } from './runContext';
import {
  canScoreFromMemory,
  type KeptFeatures,
  queriesCommitted,
  scoreKept,
} from './scoreFromMemory';
import type { FeaturizeResult, Plan, ShardTask } from './types';
import { SPARSE_FROM, zeroFraction } from './zeroSuppressed';

/** Rows featurized between progress reports, and the unit a resumed attempt skips. */
export const CHUNK_ROWS = 4096;

/** What an attempt reports after each chunk, and what a retry resumes from. */
export interface ChunkState {
  /** The checkpoint whose file the chunks belong to (a shard's featurize covers several). */
  checkpoint?: number;
  attemptId: string;
  chunks: number;
  rows: number;
  /** The attempt's chunk size: a retry on a worker configured differently must use the same. */
  chunkRows?: number;
  /** Where the feature file's upload stands (parts sent, chunks pending). */
  upload?: ChunkedUploadState;
  /** The backend the attempt computed on: a retry on another backend starts over. */
  backend?: string;
  /** Leading columns the file leaves to the input part (decided on its first chunk). */
  inputColumns?: number;
  /** Whether the file suppresses zeros (decided on its first chunk). */
  sparse?: boolean;
}

export interface FeaturizeHooks {
  /** A retried attempt's state (from its last heartbeat); it names its checkpoint. */
  resume?: ChunkState;
  /** After each chunk is saved: heartbeat here. Throwing stops the work (resumable). */
  onChunk?: (state: ChunkState) => void;
  /**
   * Checked after each chunk: a returned reason means the work was cancelled for good, so the
   * attempt's upload and pending chunks are deleted and the reason is thrown.
   */
  cancelled?: () => unknown;
  /** Rows per chunk (default CHUNK_ROWS); smaller means finer resume points and heartbeats. */
  chunkRows?: number;
}

/**
 * A file leaves its inputs to the part (inputColumns.ts) only when its shard holds at least this
 * fraction of the part's rows: every reader of the file reads the whole part, and a query set of
 * 100 rows in a part of 10,000 had each worker fetch 30 MB to complete 0.3 MB of inputs.
 */
export const INPUTS_BY_REFERENCE_FROM = 0.25;

/** The committed feature file of a (checkpoint, shard): an Arrow IPC stream. */
export const FEATURES_FILE = 'features.arrows';

/**
 * Per-example features of one shard at the task's checkpoints, each committed on its own under a
 * key derived from the checkpoint hash, the featurize settings and the shard's content: a
 * repeated run reuses it, and a checkpoint found committed is skipped. The shard's input rows are
 * read once for all its checkpoints. Each file is an Arrow stream written chunk by chunk as the
 * parts of one multipart upload, so each byte goes to the store once and a retry resumes after
 * the last saved chunk of the checkpoint its heartbeat names; a checkpoint's commit runs while
 * the next one computes.
 */
export async function featurizeShard(
  ctx: RunContext,
  task: ShardTask,
  hooks: FeaturizeHooks = {},
): Promise<FeaturizeResult> {
  const t0 = performance.now();
  const times = new PhaseTimes();
  const plan = await ctx.plan(task.planKey);
  const set = plan[task.set];
  const shard = set.shards[task.shard];
  if (!shard) throw new Error(`${task.set} has no shard ${task.shard}`);
  for (const c of task.checkpoints) {
    if (!plan.checkpoints[c]) throw new Error(`the plan has no checkpoint ${c}`);
  }
  const rows = shard.end - shard.start;
  const files = await Promise.all(
    task.checkpoints.map(async (checkpoint) => {
      const prefix = ctx.featurePrefix(plan, task.set, task.shard, checkpoint);
      return { checkpoint, prefix, cached: (await readManifest(ctx.store, prefix)) !== undefined };
    }),
  );
  times.mark('plan');
  const todo = files.filter((f) => !f.cached);
  if (todo.length === 0) return { rows, cached: true, files, seconds: 0 };

  const part = await times.wait('read', ctx.dataPart(set.prefix, shard.part));
  const kept = (await canScoreFromMemory(ctx, plan, task, todo.length, hooks))
    ? new Map<number, KeptFeatures>()
    : undefined;
  let resumedChunks = 0;
  let scored = false;
  // The features' arrays, from this process's pool (featureArrays.ts) and back to it at the end;
  // a checkpoint not kept whole writes one chunk of arrays again and again (each chunk is
  // encoded before the next one computes).
  const arrays = leaseFeatureArrays();
  const reuse: { rows?: FeatureRows; scratch: FactorScratch } = { scratch: factorScratch() };
  // The previous checkpoint's commit, in flight while the next one computes.
  let committing: Promise<void> | undefined;
  try {
    try {
      for (const { checkpoint, prefix } of todo) {
        const resume = hooks.resume?.checkpoint === checkpoint ? hooks.resume : undefined;
        let keep: KeptFeatures | undefined;
        if (kept) kept.set(checkpoint, (keep = {}));
        const run = { plan, shard, checkpoint, prefix, part, times, after: committing, keep };
        const r = await featurizeCheckpoint(ctx, { ...run, arrays, reuse }, { ...hooks, resume });
        resumedChunks += r.resumedChunks;
        committing = r.commit;
      }
      await times.wait('commit', committing);
    } catch (e) {
      // A commit still in flight must not write after this attempt gave up.
      await committing?.catch(() => {});
      throw e;
    }
    // Not scored here when the queries are still being featurized: the score step reads the files.
    if (kept && (await queriesCommitted(ctx, plan))) {
      await scoreKept(ctx, plan, task.shard, kept, part, times);
      scored = true;
    }
  } finally {
    kept?.clear();
    arrays.release();
  }
  return {
    rows,
    cached: false,
    files,
    seconds: (performance.now() - t0) / 1000,
    resumedChunks,
    ...(scored ? { scored: true } : {}),
    ...times.toJSON(),
  };
}

interface CheckpointRun {
  plan: Plan;
  shard: Shard;
  checkpoint: number;
  prefix: string;
  part: Dataset;
  times: PhaseTimes;
  /** Awaited before this checkpoint's first chunk is reported: the previous commit. */
  after?: Promise<void>;
  /** Where the chunks' features go when the shard is scored from memory (ShardTask.score). */
  keep?: KeptFeatures;
  /** Where the arrays come from. */
  arrays: FeatureArrayLease;
  /**
   * The chunk arrays shared by the checkpoints not kept, and the handlers' block arrays, shared by
   * every chunk of every checkpoint of this call (one at a time).
   */
  reuse: { rows?: FeatureRows; scratch: FactorScratch };
}

/**
 * Where chunk rows [start, start + n) of a checkpoint go: a kept checkpoint's whole-shard arrays
 * (taken on its first chunk; every chunk has its layout), else the call's one chunk of arrays
 * (`capacity` rows), taken again only when a checkpoint's layout differs.
 */
function chunkOutput(
  run: CheckpointRun,
  whole: { rows?: FeatureRows },
  start: number,
  n: number,
  capacity: number,
): (dim: number, layers: number) => FeatureRows {
  return (dim, layers) => {
    const fits = (r: FeatureRows | undefined, rows: number): r is FeatureRows =>
      r !== undefined && featureRowsFit(r, rows, dim, layers);
    if (run.keep) {
      const rows = run.shard.end - run.shard.start;
      const kept = (whole.rows ??= run.arrays.take(rows, dim, layers));
      if (!fits(kept, rows)) {
        const first = (kept as FeatureRows).data.length / rows;
        throw new Error(
          `${run.prefix}: a chunk's rows are ${dim} wide, the first chunk's ${first}`,
        );
      }
      return featureRowsView(kept, start, n, dim, layers);
    }
    if (!fits(run.reuse.rows, capacity)) run.reuse.rows = run.arrays.take(capacity, dim, layers);
    return featureRowsView(run.reuse.rows, 0, n, dim, layers);
  };
}

/**
 * One checkpoint's file: its chunks computed and saved (chunk k's append in flight while chunk
 * k + 1 computes), the last chunk kept for the commit, which is returned running: it writes the
 * last bytes, completes the upload and commits the manifest.
 */
async function featurizeCheckpoint(
  ctx: RunContext,
  run: CheckpointRun,
  hooks: FeaturizeHooks,
): Promise<{ resumedChunks: number; commit: Promise<void> }> {
  const { store } = ctx;
  const { plan, shard, checkpoint, prefix, part, times } = run;
  const backend = activeBackend();
  let resume = hooks.resume;
  if (resume && resume.backend !== backend) {
    // Its chunks' bits (and the file's recorded backend) would not be this worker's: drop them.
    const stale = new Transaction(store, prefix, resume.attemptId).keyOf(FEATURES_FILE);
    if (resume.upload) await (await ChunkedUpload.open(store, stale, resume.upload)).abort();
    resume = undefined;
  }
  const tx = new Transaction(store, prefix, resume?.attemptId);
  const attemptId = tx.attemptPrefix.slice(tx.attemptPrefix.lastIndexOf('/') + 1);
  const model = await times.wait('model', ctx.model(plan.checkpoints[checkpoint].key));
  // Every chunk carries the shard's metadata, so the chunks' schemas are one schema.
  const meta = { ...fileMeta(plan, checkpoint), backend, offset: shard.offset };
  // The first chunk decides whether the file stores its inputs by reference (its schema, in that
  // chunk, says so); a resumed attempt keeps its first attempt's decision.
  let inputColumns = resume?.inputColumns ?? 0;
  let sparse = resume?.sparse ?? false;
  const requested = resume?.chunkRows ?? hooks.chunkRows ?? CHUNK_ROWS;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Error(`chunkRows must be a positive integer, got ${requested}`);
  }
  // Whole batches per chunk, so a chunked or resumed featurize runs exactly the batches of an
  // unchunked one: TensorFlow's (oneDNN/Eigen) matMul blocks its sums by the batch's row count,
  // so a row's features in a smaller batch can differ in the last bits.
  const batch = plan.spec.batchSize;
  const chunkRows = Math.ceil(requested / batch) * batch;
  const spec = shardFeaturizeSpec(plan);
  const upload = await ChunkedUpload.open(store, tx.keyOf(FEATURES_FILE), resume?.upload);
  const rows = shard.end - shard.start;
  const nChunks = Math.ceil(rows / chunkRows);
  // Chunk k's append is in flight while chunk k + 1 is computed and encoded (the computation
  // yields between batches so the upload moves). It is awaited, reported and the cancellation
  // checked before chunk k + 1's append starts: appends stay in order, and a heartbeat names
  // only saved chunks (and, by awaiting `after` first, only committed earlier checkpoints).
  let after = run.after;
  let inFlight: { done: Promise<void>; chunks: number; rows: number } | undefined;
  const settle = async () => {
    if (after) {
      await times.wait('commit', after);
      after = undefined;
    }
    if (!inFlight) return;
    const { done, chunks, rows: saved } = inFlight;
    inFlight = undefined;
    await times.wait('upload', done);
    hooks.onChunk?.({
      checkpoint,
      attemptId,
      chunks,
      rows: saved,
      chunkRows,
      upload: upload.state,
      backend,
      inputColumns,
      sparse,
    });
    const reason = hooks.cancelled?.();
    if (reason !== undefined) {
      await upload.abort();
      throw reason;
    }
  };
  // The last chunk (with the stream's end marker) is not saved on its own: it goes up with the
  // commit, right after.
  let last: Uint8Array | undefined;
  const whole: { rows?: FeatureRows } = {};
  if (run.keep && upload.resumedChunks > 0) {
    throw new Error(`${prefix}: a resumed upload cannot keep the whole shard's features`);
  }
  try {
    for (let k = upload.resumedChunks; k < nChunks; k++) {
      const start = shard.start + k * chunkRows;
      const end = Math.min(shard.end, start + chunkRows);
      const output = chunkOutput(run, whole, k * chunkRows, end - start, chunkRows);
      const features = await featurizeDatasetYielding(model, part, start, end, spec, {
        output,
        scratch: run.reuse.scratch,
      });
      const input = { ds: part, start, end };
      if (k === 0 && plan.spec.projector.dtype !== 'float16') {
        // Decided afresh on a first chunk, whatever a resumed attempt's state says.
        inputColumns =
          spec.projector.kind === 'none' && rows >= INPUTS_BY_REFERENCE_FROM * part.rows
            ? inputColumnsOf(features.grads, input)
            : 0;
        sparse = zeroFraction(features.grads.data, features.grads.dim, inputColumns) >= SPARSE_FROM;
      } else if (inputColumns > 0) {
        checkInputColumns(features.grads, input, inputColumns, `features of ${prefix}`);
      }
      times.mark('compute');
      const ids = part.ids.subarray(start, end);
      const labels = part.labels.subarray(start, end);
      const stream = writeFeatureFile(
        { ids, labels, features },
        { ...meta, inputColumns, sparse },
        'stream',
      );
      const body = streamChunk(stream, k === 0, k === nChunks - 1);
      if (run.keep && k === nChunks - 1 && whole.rows) {
        const r = whole.rows;
        const grads = { ...features.grads, rows, data: r.data };
        run.keep.features = { grads, loss: r.loss, sqNorm: r.sqNorm, layerSqNorm: r.layerSqNorm };
      }
      if (run.keep) {
        // The metadata as a reader of the file parses it (from the schema alone).
        if (k === 0) {
          const { schema } = splitStream(stream);
          run.keep.meta = openFeatureFile(concatBytes([schema, STREAM_END]), prefix).meta;
        }
      }
      times.mark('encode');
      await settle();
      if (k === nChunks - 1) {
        last = body;
        break;
      }
      const done = upload.append(body);
      // Awaited by settle(); until then a failure must not count as an unhandled rejection.
      done.catch(() => {});
      inFlight = { done, chunks: k + 1, rows: end - shard.start };
    }
    await settle();
  } catch (e) {
    // An append still in flight must not write after this attempt gave up: a retry may resume.
    await inFlight?.done.catch(() => {});
    throw e;
  }
  const commit = (async () => {
    tx.adopt(FEATURES_FILE, await upload.finish(last ?? STREAM_END));
    await tx.commit({ rows, checkpointStep: plan.checkpoints[checkpoint].step, shard: shard.hash });
  })();
  // Awaited by the caller or the next checkpoint; until then not an unhandled rejection.
  commit.catch(() => {});
  return { resumedChunks: upload.resumedChunks, commit };
}

/** What a shard's featurize computes with: the plan's settings. */
export function shardFeaturizeSpec(plan: Plan): FeaturizeSpec {
  return {
    layers: plan.spec.layers,
    // Unrounded: the file stores float16 once, and what it stores is what every stage reads.
    projector: { ...plan.spec.projector, dtype: 'float32' },
    testFunction: plan.spec.testFunction,
    batchSize: plan.spec.batchSize,
  };
}

function fileMeta(plan: Plan, c: number) {
  const ck = plan.checkpoints[c];
  return {
    modelHash: ck.hash,
    checkpointStep: ck.step,
    learningRate: ck.learningRate,
    projector: plan.spec.projector,
    dtype: plan.spec.projector.dtype,
    codeVersion: plan.featureSpecHash,
  };
}
