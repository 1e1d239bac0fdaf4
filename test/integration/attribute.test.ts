import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import { activityRuns, secondsByWorker } from '../../bench/activityRuns';
import { historyOf } from '../../bench/runStats';
import { eventSeconds, stageSeconds } from '../../bench/stageSeconds';
import { readAllParts, writePartitioned } from '../../lib/data/partitionedDataset';
import { runInProcess } from '../../lib/pipeline/runInProcess';
import type { RunSpecInput } from '../../lib/pipeline/runSpec';
import { buildReport } from '../../lib/report/buildReport';
import { renderReport } from '../../lib/report/renderReport';
import { readManifest } from '../../lib/store/commit';
import { FsStore } from '../../lib/store/fsStore';
import { S3Store } from '../../lib/store/s3Store';
import { connectClient } from '../../workers/connection';
import { ensureBackend } from '../../workers/worker';
import { attribute, progressQuery } from '../../workflows';
import { shardsChildId } from '../../workflows/definitions';
import { readRunResults } from '../support/runResults';
import { ensureStack } from '../support/stack';
import { useTestWorker } from '../support/testWorker';
import { makeTinyRun } from '../support/tinyRun';

const config = ensureStack();
const s3 = new S3Store(config.s3);

before(() => ensureBackend(config));
const taskQueue = useTestWorker(config, 'attribute');

const results = readRunResults;

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
type Events = Awaited<ReturnType<typeof execute>>['history'];
/** From the workflow's start event to its completion event, by the server's clock. */
function workflowSeconds(events: Events): number {
  const [first, last] = [events[0], events.at(-1)];
  assert.ok(first && last, 'a history');
  return eventSeconds(last) - eventSeconds(first);
}

async function execute(spec: RunSpecInput, id = randomUUID()) {
  const client = await connectClient(config);
  try {
    const handle = await client.workflow.start(attribute, {
      taskQueue,
      workflowId: `attribute-${id}`,
      args: [{ spec }],
    });
    const summary = await handle.result();
    const progress = await handle.query(progressQuery);
    const history = (await handle.fetchHistory()).events ?? [];
    return { summary, progress, history };
  } finally {
    await client.connection.close();
  }
}

test('the attribute workflow on S3 reproduces the in-process runner exactly, and caches', async () => {
  const prefix = `it/${randomUUID()}`;
  const spec = await makeTinyRun(s3, prefix);
  const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-inproc-')));
  const localSpec = await makeTinyRun(local, prefix);
  assert.deepEqual(localSpec, spec);

  const reference = await runInProcess(local, spec);
  const { summary, progress } = await execute(spec);
  assert.equal(summary.runPrefix, reference.runPrefix, 'same content address');
  assert.equal(summary.trainRows, 300);
  assert.equal(summary.queryRows, 12);
  assert.deepEqual(await results(s3, summary), await results(local, reference));
  assert.deepEqual(summary.topSelfInfluence, reference.topSelfInfluence);
  assert.equal(progress.stage, 'done');
  assert.equal(progress.shardsDone, progress.shardsTotal);
  assert.ok(await readManifest(s3, summary.runPrefix), 'run manifest committed');

  // The same spec again: nothing is recomputed, the committed result comes back.
  const before = await s3.list('features/');
  const again = await execute(spec);
  assert.deepEqual(again.summary, summary);
  assert.deepEqual(await s3.list('features/'), before);
  // bench:main's stage times: a run found committed is all plan.
  const cached = stageSeconds(again.history);
  assert.ok(Math.abs(cached.plan - workflowSeconds(again.history)) < 0.002, JSON.stringify(cached));
  assert.equal(sum(cached) - cached.plan, 0);

  // Change one row of the last part: only that part's shards are featurized again.
  const train = await readAllParts(s3, spec.train);
  // A change unique to this test run (the bucket keeps features from earlier runs).
  train.x![train.x!.length - 1] += 1 + Number.parseInt(prefix.slice(3, 9), 16) / 2 ** 24;
  await writePartitioned(s3, `${prefix}/train2`, train, 128);
  const featuresBefore = new Set(
    (await s3.list('features/')).filter((k) => k.endsWith('MANIFEST.json')),
  );
  const changed = await execute({ ...spec, train: `${prefix}/train2` });
  const added = (await s3.list('features/')).filter(
    (k) => k.endsWith('MANIFEST.json') && !featuresBefore.has(k),
  );
  // 300 rows in parts of 128: the last part (44 rows) is one shard of ≤ 50, × 3 checkpoints.
  assert.equal(added.length, 3);
  assert.notEqual(changed.summary.runPrefix, summary.runPrefix);
});

test('tracin then the influence self-score through Temporal: two runs, the second equal to the in-process runner', async () => {
  const prefix = `it/${randomUUID()}`;
  const base = await makeTinyRun(s3, prefix, { trainRows: 120 });
  // The same spec but for its self-score: the first run's results must not be served again.
  const tracin = await execute({ ...base, selfScore: { kind: 'tracin' } });
  assert.equal(tracin.summary.selfScore, 'tracin');
  // bench:main's stage times, from the history: no curvature or self-score stage without one.
  const tracinStages = stageSeconds(tracin.history);
  assert.ok(tracinStages.shards > 0, JSON.stringify(tracinStages));
  assert.equal(tracinStages.curvature + tracinStages['self-score'], 0);
  assert.ok(Math.abs(sum(tracinStages) - workflowSeconds(tracin.history)) < 0.005);
  const spec = { ...base, selfScore: { kind: 'influence' as const, layers: 'last' as const } };
  const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-inproc-if-')));
  await makeTinyRun(local, prefix, { trainRows: 120 });
  const reference = await runInProcess(local, spec);
  const id = randomUUID();
  const { summary, progress, history } = await execute(spec, id);
  assert.equal(summary.selfScore, 'influence');
  const stages = stageSeconds(history);
  for (const s of ['plan', 'featurize-queries', 'shards', 'curvature', 'self-score'] as const) {
    assert.ok(stages[s] > 0, `${s}: ${JSON.stringify(stages)}`);
  }
  assert.ok(Math.abs(sum(stages) - workflowSeconds(history)) < 0.005);
  // bench:main's shard times per worker read the histories this way: every completed activity,
  // named by the worker that ran it.
  const runs = activityRuns(history);
  const completed = history.filter((e) => e.activityTaskCompletedEventAttributes);
  assert.equal(runs.length, completed.length);
  for (const type of ['planRun', 'featurizeShard', 'factorCurvature', 'reduceRun']) {
    assert.ok(
      runs.some((r) => r.type === type),
      type,
    );
  }
  assert.ok(
    runs.every((r) => /^\d+@/.test(r.worker) && r.start <= r.end),
    JSON.stringify(runs),
  );
  // And the shard children's (bench:main's shard_activity_s): every training shard's featurize.
  const client = await connectClient(config);
  try {
    const child = await historyOf(client, shardsChildId(`attribute-${id}`, 0));
    const shards = secondsByWorker(
      child.flatMap((h) => h.activityRuns),
      'featurizeShard',
    ).flat();
    assert.equal(shards.length, progress.shardsTotal);
    assert.ok(
      shards.every((s) => s >= 0),
      JSON.stringify(shards),
    );
  } finally {
    await client.connection.close();
  }
  assert.notEqual(summary.runPrefix, tracin.summary.runPrefix);
  assert.notDeepEqual(
    (await results(s3, summary)).self,
    (await results(s3, tracin.summary)).self,
    'the committed self-scores differ',
  );
  assert.deepEqual(await results(s3, summary), await results(local, reference));
  assert.deepEqual(summary.topSelfInfluence, reference.topSelfInfluence);
});

test('the influence self-score over 7 shards with reduce trees of 2 through Temporal: equal to the in-process runner, every tree node a committed step', async () => {
  const prefix = `it/${randomUUID()}`;
  const spec = { ...(await makeTinyRun(s3, prefix)), reduceGroup: 2 };
  const local = new FsStore(await mkdtemp(join(tmpdir(), 'tda-inproc-tree-')));
  await makeTinyRun(local, prefix);
  // The Gram of the projected last layer, K-FAC over every layer's exact factors, and the Gram
  // of a sketch of the last layer's exact factors (the main job's self-score).
  const runs: RunSpecInput[] = [
    { ...spec, selfScore: { kind: 'influence', layers: 'last' } },
    {
      ...spec,
      projector: { kind: 'none' },
      selfScore: { kind: 'influence', layers: 'all', curvature: 'kfac' },
    },
    {
      ...spec,
      projector: { kind: 'none' },
      selfScore: { kind: 'influence', layers: 'last', sketch: { k1: 4, k2: 3, seed: 7 } },
    },
  ];
  for (const run of runs) {
    const reference = await runInProcess(local, run);
    const { summary, progress } = await execute(run);
    assert.equal(summary.runPrefix, reference.runPrefix);
    assert.equal(progress.shardsTotal, 7);
    assert.deepEqual(await results(s3, summary), await results(local, reference));
    assert.deepEqual(summary.topSelfInfluence, reference.topSelfInfluence);
    // 7 shards in groups of 2: levels 7, 4, 2 in both trees, and one self-score per shard.
    const committed = async (p: string) =>
      (await s3.list(`${summary.runPrefix}/${p}`)).filter((k) => k.endsWith('/MANIFEST.json'))
        .length;
    assert.equal(await committed('curvature/L1/'), 4);
    assert.equal(await committed('curvature/L2/'), 2);
    assert.equal(await committed('curvature/factored/'), 1);
    assert.equal(await committed('self/'), 7);
    assert.equal(await committed('merged/L1/'), 4);
    assert.equal(await committed('merged/L2/'), 2);
    assert.equal(await committed('curvature/L3/'), 0);
  }
});

async function expectInputFailure(spec: unknown, pattern: RegExp) {
  await assert.rejects(execute(spec as RunSpecInput), (e: unknown) => {
    assert.ok(e instanceof WorkflowFailedError, String(e));
    // The failure surfaces through an activity (and maybe a child workflow): find its root.
    let cause: unknown = e.cause;
    while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) {
      cause = cause.cause;
    }
    assert.ok(cause instanceof ApplicationFailure, String(cause));
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, pattern);
    return true;
  });
}

test('bad specs and malformed inputs fail fast, non-retryably, naming the problem', async () => {
  const prefix = `it/${randomUUID()}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 60 });
  const committedRuns = async () =>
    (await s3.list(`runs/${spec.name}/`)).filter((k) => k.endsWith('/MANIFEST.json')).length;
  const committedBefore = await committedRuns();
  await expectInputFailure({ ...spec, topK: 0 }, /topK/);
  await expectInputFailure({ ...spec, bogus: 1 }, /bogus/);
  await expectInputFailure(
    { ...spec, checkpoints: `${prefix}/nope.json` },
    /checkpoints: no object at key/,
  );
  await expectInputFailure({ ...spec, train: `${prefix}/missing` }, /train: no data set/);
  await expectInputFailure(
    { ...spec, selfScore: { kind: 'influence', layers: { names: ['nope'] } } },
    /selfScore\.layers: "nope" not among the featurized layers/,
  );

  // A part whose bytes are not the ones its manifest committed.
  const m = await readManifest<unknown>(s3, spec.train);
  const partKey = Object.values(m!.files)[0].key;
  await s3.put(partKey, new Uint8Array([1, 2, 3, 4]));
  await expectInputFailure(spec, /does not match its manifest hash/);
  // None of the failed runs committed a result.
  assert.equal(await committedRuns(), committedBefore);
});

test('a non-retryable input error in the ninth of 24 child ranges fails the run at once with that error; nothing committed', async () => {
  const prefix = `it/${randomUUID()}`;
  // One shard per part and one shard per child: range 8 (the ninth child) reads only part 8.
  const base = await makeTinyRun(s3, prefix, { trainRows: 240, rowsPerPart: 10 });
  const spec = { ...base, shardSize: 10, shardsPerChild: 1, window: 1 };
  const m = await readManifest<unknown>(s3, spec.train);
  await s3.put(m!.files['part-00008.arrow'].key, new Uint8Array([1, 2, 3, 4]));

  const client = await connectClient(config);
  const workflowId = `attribute-ninth-${randomUUID()}`;
  try {
    const handle = await client.workflow.start(attribute, {
      taskQueue,
      workflowId,
      args: [{ spec }],
    });
    await assert.rejects(handle.result(), (e: unknown) => {
      assert.ok(e instanceof WorkflowFailedError, String(e));
      // workflow ← the ninth child ← its featurize activity, not retried ← the named problem.
      const child = e.cause;
      assert.ok(child instanceof ChildWorkflowFailure, String(child));
      assert.equal(child.execution.workflowId, `${workflowId}-shards-8`);
      const activity = child.cause;
      assert.ok(activity instanceof ActivityFailure, String(activity));
      assert.equal(activity.activityType, 'featurizeShard');
      const app = activity.cause;
      assert.ok(app instanceof ApplicationFailure, String(app));
      assert.equal(app.nonRetryable, true);
      assert.match(
        app.message,
        /^train shard 8, checkpoints 0, 1, 2: part part-00008\.arrow of ".*" does not match its manifest hash/,
      );
      return true;
    });
    // Prompt: the first workflow task to see the child's failure failed the workflow, starting
    // no other child and waiting for none (a task already running then may still finish).
    const events = (await handle.fetchHistory()).events ?? [];
    const failedAt = events.findIndex((ev) => ev.childWorkflowExecutionFailedEventAttributes);
    assert.ok(failedAt > 0, 'a child failed');
    const seenAt = events.findIndex(
      (ev, i) => i > failedAt && ev.workflowTaskStartedEventAttributes,
    );
    const after = events.slice(seenAt + 1);
    assert.equal(
      after.filter((ev) => ev.startChildWorkflowExecutionInitiatedEventAttributes).length,
      0,
      'no child started after the failure was seen',
    );
    assert.equal(after.filter((ev) => ev.workflowTaskCompletedEventAttributes).length, 1);
    assert.ok(after.at(-1)?.workflowExecutionFailedEventAttributes, 'then the workflow failed');
  } finally {
    await client.connection.close();
  }
  // Nothing committed: no run manifest under any address of this run's name.
  const runs = await s3.list(`runs/${spec.name}/`);
  const plans = runs.filter((k) => k.endsWith('/plan.json'));
  for (const p of plans) {
    const runPrefix = p.slice(0, -'/plan.json'.length);
    const plan = JSON.parse(new TextDecoder().decode(await s3.get(p))) as {
      train: { prefix: string };
    };
    if (plan.train.prefix === spec.train) {
      assert.equal(await readManifest(s3, runPrefix), undefined, 'no run manifest');
    }
  }
});

test('the report is built from a committed run: queries, proponents, opponents, suspects', async () => {
  const prefix = `it/${randomUUID()}`;
  const spec = await makeTinyRun(s3, prefix, { trainRows: 90 });
  const { summary } = await execute(spec);
  const { data } = await buildReport(s3, summary, { queries: 3, perQuery: 2, mislabels: 5 });
  assert.equal(data.queries.length, 3);
  for (const q of data.queries) {
    assert.equal(q.proponents.length, 2);
    assert.equal(q.opponents.length, 2);
    assert.ok((q.proponents[0].score as number) >= (q.proponents[1].score as number));
    assert.ok((q.opponents[0].score as number) <= (q.opponents[1].score as number));
  }
  // The suspects are the top self-influence examples, as the run's summary ranks them.
  assert.deepEqual(
    data.mislabels?.rows.map((r) => r.id),
    summary.topSelfInfluence.slice(0, 5).map((r) => r.id),
  );
  const html = renderReport(data);
  assert.match(html, /TracIn-CP/);
});
