import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { runInProcess } from '../../lib/pipeline/runInProcess';
import type { RunSpecInput } from '../../lib/pipeline/runSpec';
import type { FeaturizeResult, RunSummary } from '../../lib/pipeline/types';
import { MANIFEST } from '../../lib/store/commit';
import { FsStore } from '../../lib/store/fsStore';
import type { ObjectStore } from '../../lib/store/objectStore';
import { S3Store } from '../../lib/store/s3Store';
import { connectClient } from '../../workers/connection';
import { ensureBackend } from '../../workers/worker';
import type { attribute } from '../../workflows';
import { type PrivateStack, startPrivateStack } from '../support/privateStack';
import { resultAcrossRestarts } from '../support/resultAcrossRestarts';
import { readRunResults } from '../support/runResults';
import { makeTinyRun } from '../support/tinyRun';
import { spawnWorkerProcess, type WorkerProcess } from '../support/workerProcess';

/**
 * Faults during a run: a worker SIGKILLed mid-featurize, the Temporal server restarted, the S3
 * server stopped for seconds, the workflow cancelled. Each run that completes must equal the
 * in-process runner's result exactly. Servers are restarted on a private stack (own ports and
 * state), never the shared one.
 */

// Seconds, not the production 2 minutes: a killed worker's activity is retried this soon.
const HEARTBEAT = '3s';
// Small chunks make featurize long enough to interrupt and give it many resume points. Not a
// multiple of the batch size (16): featurize rounds it up to whole batches (64), so chunking and
// resuming must not change any feature.
const CHUNK_ROWS = 50;

let ps: PrivateStack;
let s3: S3Store;
let client: Client;
const workers: WorkerProcess[] = [];

before(async () => {
  ps = startPrivateStack();
  s3 = new S3Store(ps.config.s3);
  await ensureBackend(ps.config);
  client = await connectClient(ps.config);
});
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await client?.connection.close();
  ps?.destroy();
});

function startWorker(queue: string, chunkRows = CHUNK_ROWS): WorkerProcess {
  const w = spawnWorkerProcess({ queue, chunkRows, concurrency: 1, env: ps.env });
  workers.push(w);
  return w;
}

async function results(store: ObjectStore, summary: RunSummary) {
  return {
    ...(await readRunResults(store, summary)),
    topSelfInfluence: summary.topSelfInfluence,
    runPrefix: summary.runPrefix,
  };
}

/** One training shard of `rows` rows (distinct per test, so no test reuses another's features). */
async function setup(rows: number) {
  const prefix = `res/${randomUUID()}`;
  const opts = { trainRows: rows, rowsPerPart: rows };
  const spec: RunSpecInput = { ...(await makeTinyRun(s3, prefix, opts)), shardSize: rows };
  const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-inproc-')));
  const localSpec = { ...(await makeTinyRun(local, prefix, opts)), shardSize: rows };
  assert.deepEqual(localSpec, spec);
  return { spec, reference: async () => results(local, await runInProcess(local, spec)) };
}

function start(spec: RunSpecInput, taskQueue: string) {
  return client.workflow.start<typeof attribute>('attribute', {
    taskQueue,
    workflowId: `res-${randomUUID()}`,
    args: [{ spec, heartbeatTimeout: HEARTBEAT }],
  });
}

/**
 * Saved chunks of unfinished featurize attempts, by attempt folder: the tiny run's feature files
 * are smaller than a multipart part, so every chunk is a pending object (and, once committed, a
 * piece of the file: committed attempts are left out).
 */
async function attemptChunks(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const keys = await s3.list('features/');
  const committed = new Set(
    keys.filter((k) => k.endsWith(`/${MANIFEST}`)).map((k) => k.slice(0, -MANIFEST.length - 1)),
  );
  for (const k of keys) {
    const m = /^((.*)\/_attempts\/[^/]+)\/features\.arrows\.chunk-\d+$/.exec(k);
    if (m && !committed.has(m[2])) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
  }
  return out;
}

async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Resolves once a training featurize (query shards have 1 chunk) has saved `n` chunks. */
function trainChunksSaved(n = 3): Promise<string> {
  return waitFor(`${n} saved chunks of a training shard`, 60_000, async () => {
    for (const [attempt, c] of await attemptChunks()) if (c >= n) return attempt;
    return undefined;
  });
}

/** Results of every featurize activity the run's child workflows recorded. */
async function featurizeResults(workflowId: string): Promise<FeaturizeResult[]> {
  const out: FeaturizeResult[] = [];
  const child = client.workflow.getHandle(`${workflowId}-shards-0`);
  const history = await child.fetchHistory();
  for (const ev of history.events ?? []) {
    const payload = ev.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
    if (payload) {
      const r = JSON.parse(Buffer.from(payload).toString('utf8')) as FeaturizeResult;
      if ('files' in r) out.push(r);
    }
  }
  return out;
}

test('a worker SIGKILLed mid-featurize: a new one resumes from the heartbeat, same results', async () => {
  const queue = `res-kill-${randomUUID()}`;
  const { spec, reference } = await setup(20_000);
  const expected = await reference();
  const first = startWorker(queue);
  await first.ready;
  const handle = await start(spec, queue);
  await trainChunksSaved(3);
  first.child.kill('SIGKILL');
  assert.equal(await first.exited, 'SIGKILL');
  await startWorker(queue).ready;
  const summary = await resultAcrossRestarts(handle);
  assert.deepEqual(await results(s3, summary), expected);
  const feats = await featurizeResults(handle.workflowId);
  assert.equal(feats.length, 1, 'one featurize for every checkpoint of the shard');
  // The retry resumed the checkpoint its heartbeat named after its last saved chunk, and found
  // the checkpoints before it committed.
  const [f] = feats;
  assert.ok((f.resumedChunks ?? 0) > 0, JSON.stringify(f));
  assert.ok(f.resumedChunks! < Math.ceil(20_000 / CHUNK_ROWS));
  const resumedAt = f.files.findIndex((x) => !x.cached);
  assert.ok(resumedAt >= 0 && f.files.slice(resumedAt).every((x) => !x.cached), JSON.stringify(f));
});

test('the Temporal server restarted mid-run: workers reconnect, same results', async () => {
  const queue = `res-temporal-${randomUUID()}`;
  const { spec, reference } = await setup(19_000);
  const expected = await reference();
  await startWorker(queue).ready;
  const handle = await start(spec, queue);
  await trainChunksSaved(3);
  ps.run('restart', 'temporal');
  const summary = await resultAcrossRestarts(handle);
  assert.deepEqual(await results(s3, summary), expected);
});

test('the S3 server stopped for seconds mid-run: activities retry, same results', async () => {
  const queue = `res-s3-${randomUUID()}`;
  const { spec, reference } = await setup(18_000);
  const expected = await reference();
  await startWorker(queue).ready;
  const handle = await start(spec, queue);
  await trainChunksSaved(3);
  ps.run('down', 's3');
  await sleep(4000);
  ps.run('up', 's3');
  const summary = await resultAcrossRestarts(handle);
  assert.deepEqual(await results(s3, summary), expected);
});

test('cancelling the workflow stops the running featurize activity', async () => {
  const queue = `res-cancel-${randomUUID()}`;
  const rows = 30_000;
  const chunkRows = 20;
  const { spec } = await setup(rows);
  await startWorker(queue, chunkRows).ready;
  const handle = await start(spec, queue);
  const attempt = await trainChunksSaved(3);
  await handle.cancel();
  await assert.rejects(handle.result(), (e: unknown) => {
    assert.ok(e instanceof WorkflowFailedError, String(e));
    assert.ok(e.cause instanceof CancelledFailure, String(e.cause));
    return true;
  });
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  // The activity learns of the cancel on its next heartbeat (throttled to 0.8 × the timeout).
  await sleep(4000);
  const count = async () => (await attemptChunks()).get(attempt) ?? 0;
  // It stopped and deleted what it had saved (a cancel is final: nothing to resume).
  assert.equal(await count(), 0, 'the cancelled attempt deleted its pending chunks');
  await sleep(2500);
  assert.equal(await count(), 0, 'no chunk written after the activity saw the cancel');
  const manifests = (await s3.list(attempt.slice(0, attempt.indexOf('/_attempts/')))).filter((k) =>
    k.endsWith('MANIFEST.json'),
  );
  assert.deepEqual(manifests, [], 'the cancelled shard was never committed');
});
