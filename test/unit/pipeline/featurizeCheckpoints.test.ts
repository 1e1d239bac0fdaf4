import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import { type ChunkState, featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { RunContext } from '../../../lib/pipeline/runContext';
import { MANIFEST, objectsOf, readCommittedFile, readManifest } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { putJson } from '../../../lib/store/objectStore';
import { useTestBackend } from '../../support/backend';
import { makeTinyRun } from '../../support/tinyRun';

/**
 * A filesystem store that counts input-part reads and whose manifest writes are slow and
 * recorded as they land: a checkpoint's commit then runs while the next one computes.
 */
class WatchedStore extends FsStore {
  partReads = new Map<string, number>();
  committed = new Set<string>();

  override async get(key: string) {
    if (/part-\d+\.arrow$/.test(key)) this.partReads.set(key, (this.partReads.get(key) ?? 0) + 1);
    return super.get(key);
  }

  override async put(key: string, body: Uint8Array | string) {
    if (!key.endsWith(`/${MANIFEST}`)) return super.put(key, body);
    await sleep(30);
    await super.put(key, body);
    this.committed.add(key.slice(0, -MANIFEST.length - 1));
  }
}

async function setup(minPartBytes = 0) {
  await useTestBackend();
  const store = new WatchedStore(await mkdtemp(join(tmpdir(), 'tda-ckpts-')), minPartBytes);
  const spec = await makeTinyRun(store, 'p', { trainRows: 300, rowsPerPart: 100 });
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, { ...spec, shardSize: 100 }, (k) => ctx.model(k));
  const planKey = `${plan.runPrefix}/plan.json`;
  await putJson(store, planKey, plan);
  ctx.rememberPlan(planKey, plan);
  const prefixes = (shard: number) =>
    [0, 1, 2].map((c) => ctx.featurePrefix(plan, 'train', shard, c));
  return { store, ctx, planKey, prefixes };
}

/**
 * Each checkpoint's committed feature file, as bytes, computed one checkpoint per call in chunks
 * of `chunkRows` (a chunk is a record batch of the stream).
 */
async function reference(shard: number, chunkRows?: number): Promise<Buffer[]> {
  const { ctx, planKey, prefixes } = await setup();
  for (const c of [0, 1, 2]) {
    await featurizeShard(ctx, { planKey, set: 'train', shard, checkpoints: [c] }, { chunkRows });
  }
  return committedBytes(ctx, prefixes(shard));
}

async function committedBytes(ctx: RunContext, prefixes: string[]): Promise<Buffer[]> {
  const out = [];
  for (const p of prefixes) {
    const m = await readManifest(ctx.store, p);
    assert.ok(m, `${p} committed`);
    out.push(Buffer.from(await readCommittedFile(ctx.store, m.files['features.arrows'])));
  }
  return out;
}

for (const minPartBytes of [0, 1 << 30]) {
  test(`a shard's featurize over 3 checkpoints stopped in the 2nd resumes there, with the bytes of an uninterrupted run (parts >= ${minPartBytes} B)`, async () => {
    const expected = await reference(1, 16);
    const { store, ctx, planKey, prefixes } = await setup(minPartBytes);
    const task = { planKey, set: 'train' as const, shard: 1, checkpoints: [0, 1, 2] };
    const reports: ChunkState[] = [];
    await assert.rejects(
      featurizeShard(ctx, task, {
        chunkRows: 16,
        onChunk: (s) => {
          // A heartbeat naming checkpoint c comes after every earlier checkpoint committed.
          for (const p of prefixes(1).slice(0, s.checkpoint)) {
            assert.ok(store.committed.has(p), `chunk of checkpoint ${s.checkpoint} before ${p}`);
          }
          reports.push(s);
          if (s.checkpoint === 1 && s.chunks === 3) throw new Error('worker died');
        },
      }),
      /worker died/,
    );
    assert.deepEqual(
      reports.map((s) => [s.checkpoint, s.chunks]),
      [
        [0, 1],
        [0, 2],
        [0, 3],
        [0, 4],
        [0, 5],
        [0, 6],
        [1, 1],
        [1, 2],
        [1, 3],
      ],
    );
    const last = reports[reports.length - 1];
    const seen: [number | undefined, number][] = [];
    const r = await featurizeShard(ctx, task, {
      resume: last,
      chunkRows: 16,
      onChunk: (s) => seen.push([s.checkpoint, s.chunks]),
    });
    // Checkpoint 0 was committed by the first attempt; checkpoint 1 resumes after chunk 3.
    assert.deepEqual(
      r.files.map((f) => f.cached),
      [true, false, false],
    );
    assert.equal(r.resumedChunks, 3);
    assert.deepEqual(seen, [
      [1, 4],
      [1, 5],
      [1, 6],
      [2, 1],
      [2, 2],
      [2, 3],
      [2, 4],
      [2, 5],
      [2, 6],
    ]);
    assert.deepEqual(await committedBytes(ctx, prefixes(1)), expected);
    // The shard's rows were read once: the retry, in the same process, found them cached.
    assert.deepEqual([...store.partReads.values()], [1]);
    // Nothing of either attempt is left but the committed files.
    for (const p of prefixes(1)) {
      const m = await readManifest(store, p);
      assert.deepEqual(
        await store.list(`${p}/_attempts/`),
        Object.values(m?.files ?? {}).flatMap(objectsOf),
      );
    }
    // Found committed: no work, no read.
    const again = await featurizeShard(ctx, task);
    assert.equal(again.cached, true);
    assert.deepEqual([...store.partReads.values()], [1]);
  });
}

test("three shards' featurizes running side by side each read their rows once for all checkpoints", async () => {
  const first = await setup();
  const { store, planKey, prefixes } = first;
  // Checkpoint 1 of shard 0 already committed: skipped, the others computed.
  await featurizeShard(first.ctx, { planKey, set: 'train', shard: 0, checkpoints: [1] });
  store.partReads.clear();
  // A fresh worker: its cache (fewer parts than shards in flight) holds nothing yet.
  const ctx = new RunContext(store);
  const results = await Promise.all(
    [0, 1, 2].map((shard) =>
      featurizeShard(ctx, { planKey, set: 'train', shard, checkpoints: [0, 1, 2] }),
    ),
  );
  assert.deepEqual(
    results.map((r) => r.files.map((f) => f.cached)),
    [
      [false, true, false],
      [false, false, false],
      [false, false, false],
    ],
  );
  assert.deepEqual([...store.partReads.values()], [1, 1, 1], JSON.stringify([...store.partReads]));
  for (const shard of [0, 1, 2]) {
    assert.deepEqual(await committedBytes(ctx, prefixes(shard)), await reference(shard));
  }
});
