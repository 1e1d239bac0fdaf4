import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import {
  type ChunkState,
  FEATURES_FILE,
  featurizeShard,
} from '../../../lib/pipeline/featurizeShard';
import { RunContext } from '../../../lib/pipeline/runContext';
import { readCommitted } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { NoSuchUploadError, putJson } from '../../../lib/store/objectStore';
import { activeBackend } from '../../../lib/tf/backend';
import { useTestBackend } from '../../support/backend';
import { makeTinyRun } from '../../support/tinyRun';

async function setup(minPartBytes = 0) {
  await useTestBackend();
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-chunks-')), minPartBytes);
  const spec = await makeTinyRun(store, 'p', { trainRows: 100, rowsPerPart: 100 });
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, { ...spec, shardSize: 100 }, (k) => ctx.model(k));
  const planKey = `${plan.runPrefix}/plan.json`;
  await putJson(store, planKey, plan);
  ctx.rememberPlan(planKey, plan);
  const task = { planKey, set: 'train' as const, shard: 0, checkpoints: [1] };
  return { ctx, plan, task };
}

// Every chunk its own part; parts of a few chunks (chunks pending in between); one put at the end.
for (const minPartBytes of [0, 3000, 1 << 30]) {
  test(`a featurize stopped mid-shard resumes from its last chunk, with the chunk size it began with (parts >= ${minPartBytes} B)`, async () => {
    const a = await setup();
    await featurizeShard(a.ctx, a.task);
    const whole = await a.ctx.features(a.plan, 'train', 0, 1);

    const b = await setup(minPartBytes);
    let last: ChunkState | undefined;
    await assert.rejects(
      featurizeShard(b.ctx, b.task, {
        chunkRows: 7,
        onChunk: (s) => {
          last = s;
          if (s.chunks === 3) throw new Error('worker died');
        },
      }),
      /worker died/,
    );
    // 7 rows are rounded up to whole batches (16): chunks then never split a batch.
    assert.deepEqual(last && { chunks: last.chunks, rows: last.rows, chunkRows: last.chunkRows }, {
      chunks: 3,
      rows: 48,
      chunkRows: 16,
    });
    if (minPartBytes === 3000) {
      // The retry needs both: chunks inside a sent part and a chunk still pending.
      assert.ok(last?.upload && last.upload.inParts > 0 && last.upload.inParts < 3);
    }
    const seen: number[] = [];
    // The retry lands on a worker configured with another chunk size: the attempt's wins.
    const r = await featurizeShard(b.ctx, b.task, {
      resume: last,
      chunkRows: 50,
      onChunk: (s) => seen.push(s.chunks),
    });
    assert.equal(r.resumedChunks, 3);
    // The 7th and last chunk is not reported: it goes up with the commit.
    assert.deepEqual(seen, [4, 5, 6]);
    const resumed = await b.ctx.features(b.plan, 'train', 0, 1);
    assert.deepEqual(resumed.features, whole.features);
    assert.deepEqual(Array.from(resumed.ids), Array.from(whole.ids));
    // The file's bytes are an uninterrupted featurize's with the same chunks: each chunk's body
    // (the first with the schema, the last with the end marker) sent once, in order.
    const c = await setup(minPartBytes);
    await featurizeShard(c.ctx, c.task, { chunkRows: 16 });
    const bytes = (x: typeof b) =>
      readCommitted(x.ctx.store, x.ctx.featurePrefix(x.plan, 'train', 0, 1), FEATURES_FILE);
    assert.deepEqual(await bytes(b), await bytes(c));
  });
}

test('a bad chunk size is refused, naming it', async () => {
  const { ctx, task } = await setup();
  await assert.rejects(
    featurizeShard(ctx, task, { chunkRows: 0 }),
    /chunkRows must be a positive integer, got 0/,
  );
});

test('a cancelled featurize deletes its upload and pending chunks, and commits nothing', async () => {
  // Every chunk a part (the multipart upload exists), or every chunk pending (no upload yet).
  for (const minPartBytes of [0, 1 << 30]) {
    const { ctx, plan, task } = await setup(minPartBytes);
    let last: ChunkState | undefined;
    await assert.rejects(
      featurizeShard(ctx, task, {
        chunkRows: 7,
        onChunk: (s) => {
          last = s;
        },
        cancelled: () =>
          last && last.chunks >= 3 ? new Error('cancelled by the user') : undefined,
      }),
      /cancelled by the user/,
    );
    const prefix = ctx.featurePrefix(plan, 'train', 0, 1);
    assert.equal(last?.chunks, 3);
    assert.deepEqual(await ctx.store.list(`${prefix}/`), [], 'no pending chunk, no manifest');
    if (minPartBytes === 0) {
      const key = `${prefix}/_attempts/${last?.attemptId}/features.arrows`;
      await assert.rejects(
        ctx.store.listParts(key, last?.upload?.uploadId as string),
        NoSuchUploadError,
      );
    }
  }
});

test('a retry on another backend starts over and drops the upload of the first attempt', async () => {
  const { ctx, plan, task } = await setup(0);
  let last: ChunkState | undefined;
  await assert.rejects(
    featurizeShard(ctx, task, {
      chunkRows: 7,
      onChunk: (s) => {
        last = s;
        if (s.chunks === 3) throw new Error('worker died');
      },
    }),
    /worker died/,
  );
  assert.equal(last?.backend, activeBackend());
  const first = last as ChunkState;
  const seen: number[] = [];
  // Float32 bits differ between backends: chunks from 'another' must not join this file.
  const r = await featurizeShard(ctx, task, {
    resume: { ...first, backend: 'another' },
    chunkRows: 7,
    onChunk: (s) => seen.push(s.chunks),
  });
  assert.equal(r.resumedChunks, 0);
  assert.equal(seen[0], 1);
  const prefix = ctx.featurePrefix(plan, 'train', 0, 1);
  await assert.rejects(
    ctx.store.listParts(
      `${prefix}/_attempts/${first.attemptId}/features.arrows`,
      first.upload?.uploadId as string,
    ),
    NoSuchUploadError,
  );
  const f = await ctx.features(plan, 'train', 0, 1);
  assert.equal(f.meta.backend, activeBackend());
});
