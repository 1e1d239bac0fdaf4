import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import { type ChunkState, featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { RunContext } from '../../../lib/pipeline/runContext';
import { readManifest } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { putJson } from '../../../lib/store/objectStore';
import { useTestBackend } from '../../support/backend';
import { makeTinyRun } from '../../support/tinyRun';

/** A filesystem store whose chunk writes are slow, counted, and can be made to fail. */
class SlowStore extends FsStore {
  /** Chunk writes (parts and pending chunk objects) begun and finished. */
  begun = 0;
  saved = 0;
  gets = new Map<string, number>();
  failAt = Number.POSITIVE_INFINITY;

  private async chunkWrite(write: () => Promise<unknown>): Promise<void> {
    const n = ++this.begun;
    await sleep(15);
    if (n >= this.failAt) throw new Error(`store refused chunk write ${n}`);
    await write();
    this.saved++;
  }

  override async uploadPart(key: string, id: string, n: number, body: Uint8Array) {
    let etag = '';
    await this.chunkWrite(async () => {
      etag = await super.uploadPart(key, id, n, body);
    });
    return etag;
  }

  override async put(key: string, body: Uint8Array | string) {
    if (!key.includes('.chunk-')) return super.put(key, body);
    return this.chunkWrite(() => super.put(key, body));
  }

  override async get(key: string) {
    this.gets.set(key, (this.gets.get(key) ?? 0) + 1);
    return super.get(key);
  }
}

async function setup(minPartBytes = 0) {
  await useTestBackend();
  const store = new SlowStore(await mkdtemp(join(tmpdir(), 'tda-pipelined-')), minPartBytes);
  const spec = await makeTinyRun(store, 'p', { trainRows: 200, rowsPerPart: 100 });
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, { ...spec, shardSize: 100 }, (k) => ctx.model(k));
  const planKey = `${plan.runPrefix}/plan.json`;
  await putJson(store, planKey, plan);
  ctx.rememberPlan(planKey, plan);
  return { store, ctx, plan, planKey };
}

for (const minPartBytes of [0, 1 << 30]) {
  test(`a heartbeat names only chunks the store has saved, one append in flight at a time (parts >= ${minPartBytes} B)`, async () => {
    const { store, ctx, plan, planKey } = await setup(minPartBytes);
    const task = { planKey, set: 'train' as const, shard: 0, checkpoints: [1] };
    const reports: ChunkState[] = [];
    await featurizeShard(ctx, task, {
      chunkRows: 16,
      onChunk: (s) => {
        // Chunk writes done when the chunk is reported: all of them, and none begun beyond.
        assert.equal(store.saved, s.chunks);
        assert.ok(store.begun <= s.chunks, `${store.begun} writes begun at chunk ${s.chunks}`);
        reports.push(s);
      },
    });
    // Chunks 1-6 of 7 reported: the last goes up with the commit.
    assert.deepEqual(
      reports.map((r) => r.chunks),
      [1, 2, 3, 4, 5, 6],
    );
    // The same file as an unchunked featurize on a plain store.
    const ref = await setup();
    await featurizeShard(ref.ctx, { ...task, planKey: ref.planKey });
    const a = await ctx.features(plan, 'train', 0, 1);
    const b = await ref.ctx.features(ref.plan, 'train', 0, 1);
    assert.deepEqual(a.features, b.features);
  });
}

test('a chunk write that fails while the next chunk is computed fails the attempt, which a retry resumes', async () => {
  const { store, ctx, plan, planKey } = await setup(0);
  const task = { planKey, set: 'train' as const, shard: 1, checkpoints: [2] };
  store.failAt = 3;
  let last: ChunkState | undefined;
  await assert.rejects(
    featurizeShard(ctx, task, { chunkRows: 16, onChunk: (s) => (last = s) }),
    /store refused chunk write 3/,
  );
  assert.equal(last?.chunks, 2);
  // Nothing visible, and no write after the failure.
  assert.equal(await readManifest(store, ctx.featurePrefix(plan, 'train', 1, 2)), undefined);
  const begun = store.begun;
  await sleep(50);
  assert.equal(store.begun, begun);
  store.failAt = Number.POSITIVE_INFINITY;
  const r = await featurizeShard(ctx, task, { resume: last, chunkRows: 16 });
  assert.equal(r.resumedChunks, 2);
  const ref = await setup();
  await featurizeShard(ref.ctx, { ...task, planKey: ref.planKey });
  assert.deepEqual(
    (await ctx.features(plan, 'train', 1, 2)).features,
    (await ref.ctx.features(ref.plan, 'train', 1, 2)).features,
  );
});

test("a worker reads a shard's input part once for all its checkpoints", async () => {
  const { store, ctx, planKey } = await setup();
  for (const shard of [0, 1]) {
    for (let c = 0; c < 3; c++)
      await featurizeShard(ctx, { planKey, set: 'train', shard, checkpoints: [c] });
  }
  const partReads = [...store.gets].filter(
    ([k]) => /part-\d+\.arrow$/.test(k) && k.includes('train'),
  );
  assert.deepEqual(
    partReads.map(([, n]) => n),
    [1, 1],
    JSON.stringify(partReads),
  );
});
