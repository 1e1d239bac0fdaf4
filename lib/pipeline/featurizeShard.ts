import { readPart, readPartitionedInfo } from '../data/partitionedDataset';
import { readManifest, Transaction } from '../store/commit';
import { type FeatureFile, readFeatureFile, writeFeatureFile } from './featureFile';
import { concatFeatures, featurizeDataset } from './featurizeDataset';
import type { RunContext } from './runContext';
import type { FeaturizeResult, Plan, ShardTask } from './types';

/** Rows featurized between progress reports, and the unit a resumed attempt skips. */
export const CHUNK_ROWS = 4096;

/** What an attempt reports after each chunk, and what a retry resumes from. */
export interface ChunkState {
  attemptId: string;
  chunks: number;
  rows: number;
  /** The attempt's chunk size: a retry on a worker configured differently must use the same. */
  chunkRows?: number;
}

export interface FeaturizeHooks {
  /** A retried attempt's id and how many chunks it saved (from its last heartbeat). */
  resume?: { attemptId: string; chunks: number; chunkRows?: number };
  /** After each chunk is saved: heartbeat here. Throwing stops the work (cancellation). */
  onChunk?: (state: ChunkState) => void;
  /** Rows per chunk (default CHUNK_ROWS); smaller means finer resume points and heartbeats. */
  chunkRows?: number;
}

/**
 * Per-example features of one (checkpoint, shard), committed under a key derived from the
 * checkpoint hash, the featurize settings and the shard's content: a repeated run reuses it. Each
 * chunk is saved under the attempt's prefix first, so a retry resumes after the last saved one.
 */
export async function featurizeShard(
  ctx: RunContext,
  task: ShardTask,
  hooks: FeaturizeHooks = {},
): Promise<FeaturizeResult> {
  const t0 = performance.now();
  const { store } = ctx;
  const plan = await ctx.plan(task.planKey);
  const set = plan[task.set];
  const shard = set.shards[task.shard];
  if (!shard) throw new Error(`${task.set} has no shard ${task.shard}`);
  const prefix = ctx.featurePrefix(plan, task.set, task.shard, task.checkpoint);
  const rows = shard.end - shard.start;
  if (await readManifest(store, prefix)) return { prefix, rows, cached: true, seconds: 0 };

  const tx = new Transaction(store, prefix, hooks.resume?.attemptId);
  const attemptId = tx.attemptPrefix.slice(tx.attemptPrefix.lastIndexOf('/') + 1);
  const info = await readPartitionedInfo(store, set.prefix);
  const part = await readPart(store, set.prefix, info, shard.part);
  const model = await ctx.model(plan.checkpoints[task.checkpoint].key);
  const meta = fileMeta(plan, task.checkpoint);
  const chunkRows = hooks.resume?.chunkRows ?? hooks.chunkRows ?? CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) {
    throw new Error(`chunkRows must be a positive integer, got ${chunkRows}`);
  }
  const chunks: FeatureFile[] = [];
  const nChunks = Math.ceil(rows / chunkRows);
  const resumed = hooks.resume ? Math.min(hooks.resume.chunks, nChunks) : 0;
  for (let k = 0; k < nChunks; k++) {
    const start = shard.start + k * chunkRows;
    const end = Math.min(shard.end, start + chunkRows);
    const chunkKey = `${tx.attemptPrefix}/chunk-${k}.arrow`;
    if (k < resumed) {
      chunks.push(readFeatureFile(await store.get(chunkKey), chunkKey));
      continue;
    }
    const features = featurizeDataset(model, part, start, end, {
      layers: plan.spec.layers,
      // Unrounded: the file stores float16 once, and what it stores is what every stage reads.
      projector: { ...plan.spec.projector, dtype: 'float32' },
      testFunction: plan.spec.testFunction,
      batchSize: plan.spec.batchSize,
    });
    const ids = part.ids.subarray(start, end);
    const labels = part.labels.subarray(start, end);
    const offset = shard.offset + (start - shard.start);
    const bytes = writeFeatureFile({ ids, labels, features }, { ...meta, offset });
    chunks.push(readFeatureFile(bytes));
    await store.put(chunkKey, bytes);
    hooks.onChunk?.({ attemptId, chunks: k + 1, rows: end - shard.start, chunkRows });
  }
  const features = concatFeatures(chunks.map((c) => c.features));
  const gradBits = chunks[0].gradBits
    ? concatBits(chunks.map((c) => c.gradBits as Uint16Array))
    : undefined;
  const ids = part.ids.slice(shard.start, shard.end);
  const labels = part.labels.slice(shard.start, shard.end);
  await tx.put(
    'features.arrow',
    writeFeatureFile({ ids, labels, features, gradBits }, { ...meta, offset: shard.offset }),
  );
  await tx.commit({
    rows,
    checkpointStep: plan.checkpoints[task.checkpoint].step,
    shard: shard.hash,
  });
  for (let k = 0; k < nChunks; k++) await store.delete(`${tx.attemptPrefix}/chunk-${k}.arrow`);
  return {
    prefix,
    rows,
    cached: false,
    seconds: (performance.now() - t0) / 1000,
    resumedChunks: resumed,
  };
}

function concatBits(parts: Uint16Array[]): Uint16Array {
  const out = new Uint16Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
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
