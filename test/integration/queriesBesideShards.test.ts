import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { planKeyOf } from '../../lib/pipeline/keys';
import { runInProcess } from '../../lib/pipeline/runInProcess';
import type { Plan, ShardTask } from '../../lib/pipeline/types';
import { FsStore } from '../../lib/store/fsStore';
import { getJson } from '../../lib/store/objectStore';
import { S3Store } from '../../lib/store/s3Store';
import { connectClient, connectWorker } from '../../workers/connection';
import { ensureBackend } from '../../workers/worker';
import { attribute } from '../../workflows';
import { deletePrefixes, runPrefixes } from '../support/runPrefixes';
import { readRunResults } from '../support/runResults';
import { ensureStack } from '../support/stack';
import { useTestWorker } from '../support/testWorker';
import { makeTinyRun } from '../support/tinyRun';

const config = ensureStack();
const s3 = new S3Store(config.s3);

before(() => ensureBackend(config));
const taskQueue = useTestWorker(config, 'queries-beside');

/** The names of the activities a workflow's history scheduled, in order. */
function activities(events: { activityTaskScheduledEventAttributes?: unknown }[]): string[] {
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes as
      | { activityType?: { name?: string | null } | null }
      | undefined;
    return a ? [a.activityType?.name ?? ''] : [];
  });
}

test('shards computed before the queries are committed wait for them, then score from the files: the in-process runner exactly', async () => {
  const prefix = `it/${randomUUID()}`;
  // Rows no other test uses: features and scores are content-addressed, and another run's
  // committed queries would let every shard score from memory.
  const rows = 111;
  const spec = {
    ...(await makeTinyRun(s3, prefix, { trainRows: rows })),
    projector: { kind: 'none' as const },
  };
  const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-beside-')));
  await makeTinyRun(local, prefix, { trainRows: rows });
  const reference = await runInProcess(local, spec);

  const plan = await getJson<Plan>(local, planKeyOf(reference.runPrefix));
  const trainShards = plan.train.shards.length;
  assert.ok(trainShards >= 2, `${trainShards} shards`);
  // And nothing of an earlier run of this test on the same stack.
  const written = runPrefixes(plan);
  await deletePrefixes(s3, [written.run, ...written.features]);

  // Featurize on a queue of its own, whose queries are featurized once every training shard is.
  const featurizeQueue = `${taskQueue}-featurize`;
  const real = createActivities({ store: s3 });
  let trainDone = 0;
  const worker = await Worker.create({
    connection: await connectWorker(config),
    namespace: config.temporal.namespace,
    taskQueue: featurizeQueue,
    activities: {
      featurizeShard: async (task: ShardTask) => {
        for (let i = 0; task.set === 'query' && trainDone < trainShards && i < 1200; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const r = await real.featurizeShard(task);
        if (task.set === 'train') trainDone++;
        return r;
      },
    },
    // A slot for each held-back query shard and one for the training shards.
    maxConcurrentActivityTaskExecutions: plan.query.shards.length + 1,
  });
  const client = await connectClient(config);
  try {
    const id = `attribute-${randomUUID()}`;
    const { summary, child } = await worker.runUntil(async () => {
      const handle = await client.workflow.start(attribute, {
        taskQueue,
        workflowId: id,
        args: [{ spec, featurizeQueue }],
      });
      const summary = await handle.result();
      const child = client.workflow.getHandle(`${id}-shards-0`);
      return { summary, child: (await child.fetchHistory()).events ?? [] };
    });
    assert.equal(summary.runPrefix, reference.runPrefix);
    // Every shard was featurized before the queries were committed: each one's score step ran.
    const steps = activities(child);
    assert.equal(steps.filter((s) => s === 'featurizeShard').length, trainShards);
    assert.equal(steps.filter((s) => s === 'scoreShard').length, trainShards, steps.join(' '));
    assert.deepEqual(await readRunResults(s3, summary), await readRunResults(local, reference));
  } finally {
    await client.connection.close();
  }
});
