import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { writeColumns } from '../../lib/arrow/columns';
import { type Dataset, writeDataset } from '../../lib/data/dataset';
import { cosine, spearman } from '../../lib/eval/agreement';
import { writeScoreMatrix } from '../../lib/eval/scoreFile';
import { type GoldStandard, runGoldStandard } from '../../lib/gold/furtherTraining';
import { readGoldStandard } from '../../lib/gold/goldFile';
import { saveModel } from '../../lib/model/storeIO';
import { readCommitted, readManifest } from '../../lib/store/commit';
import { S3Store } from '../../lib/store/s3Store';
import { readWeights } from '../../lib/train/trainer';
import { connectClient } from '../../workers/connection';
import { evaluate, furtherTraining, goldProgressQuery } from '../../workflows';
import type { FurtherTrainingInput } from '../../workflows/furtherTraining';
import { ensureStack } from '../support/stack';
import { useTestWorker } from '../support/testWorker';
import { withWorkerCrash } from '../support/workerProcess';
import { gaussianData, mlp, tf } from '../unit/train/helpers';

await tf.setBackend('cpu');
const config = ensureStack();
const store = new S3Store(config.s3);
const taskQueue = useTestWorker(config, 'gold');

interface Problem {
  prefix: string;
  model: ReturnType<typeof mlp>;
  train: { x: Float32Array; y: Int32Array; n: number; d: number };
  queries: { x: Float32Array; y: Int32Array; n: number };
}

function dataset(
  name: string,
  x: Float32Array,
  y: Int32Array,
  d: number,
  classes: number,
): Dataset {
  return {
    name,
    kind: 'tabular',
    shape: [d],
    classes: Array.from({ length: classes }, (_, k) => `c${k}`),
    rows: y.length,
    ids: Int32Array.from(y, (_, i) => i),
    labels: y,
    x,
  };
}

/** A synthetic classification problem and an MLP, saved to the store the way a user would. */
async function makeProblem(
  n: number,
  d: number,
  hidden: number,
  classes: number,
): Promise<Problem> {
  const prefix = `test-gold/${randomUUID()}`;
  const tr = gaussianData(n, d, classes, 11);
  const qs = gaussianData(6, d, classes, 12);
  const model = mlp(d, hidden, classes, { seed: 3 });
  await saveModel(model, store, `${prefix}/model`);
  await store.put(`${prefix}/train.arrow`, writeDataset(dataset('train', tr.x, tr.y, d, classes)));
  await store.put(`${prefix}/queries.arrow`, writeDataset(dataset('q', qs.x, qs.y, d, classes)));
  return {
    prefix,
    model,
    train: { x: tr.x, y: tr.y, n, d },
    queries: { x: qs.x, y: qs.y, n: 6 },
  };
}

function jobInput(p: Problem, extra: Partial<FurtherTrainingInput>): FurtherTrainingInput {
  return {
    modelPrefix: `${p.prefix}/model`,
    trainKey: `${p.prefix}/train.arrow`,
    queryKey: `${p.prefix}/queries.arrow`,
    outputPrefix: `${p.prefix}/out-${randomUUID()}`,
    training: { optimizer: { kind: 'sgd' }, learningRate: 0.1, batchSize: 8 },
    steps: [2, 5],
    seeds: [1, 2],
    heartbeatTimeout: '5s',
    ...extra,
  };
}

/** The same gold standard computed in this process, uninterrupted (lib/gold). */
async function inProcessGold(p: Problem, input: FurtherTrainingInput): Promise<GoldStandard> {
  const finalWeights = readWeights(p.model);
  const x = tf.tensor2d(p.train.x, [p.train.n, p.train.d]);
  const qx = tf.tensor2d(p.queries.x, [p.queries.n, p.train.d]);
  try {
    return await runGoldStandard(
      p.model,
      finalWeights,
      { x, labels: p.train.y },
      { x: qx, labels: p.queries.y },
      {
        training: { ...input.training, optimizer: input.training.optimizer ?? { kind: 'sgd' } },
        steps: input.steps,
      },
      input.examples ?? Array.from({ length: p.train.n }, (_, i) => i),
      input.seeds,
      input.mode,
    );
  } finally {
    tf.dispose([x, qx]);
  }
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

function assertSameGold(got: GoldStandard, want: GoldStandard) {
  assert.deepEqual(got.steps, want.steps);
  assert.deepEqual(got.examples, want.examples);
  assert.deepEqual(got.seeds, want.seeds);
  assert.equal(got.queries, want.queries);
  got.steps.forEach((t, i) => {
    assertClose(got.score[i], want.score[i], 1e-6, `score at T=${t}`);
    assertClose(got.stderr[i], want.stderr[i], 1e-6, `stderr at T=${t}`);
  });
  // The runs trained: a gold standard of zeros would match a broken reference too.
  assert.ok(want.score[want.steps.length - 1].some((v) => Math.abs(v) > 1e-5));
}

async function committedGold(goldPrefix: string): Promise<GoldStandard> {
  return readGoldStandard(await readCommitted(store, goldPrefix, 'gold.arrow'));
}

test('furtherTraining end to end equals the in-process gold standard; evaluate scores methods against it', async () => {
  const p = await makeProblem(24, 4, 6, 2);
  const input = jobInput(p, {
    examples: [0, 3, 7, 11],
    checkpointEvery: 2,
    // 10 runs over 3 child workflows, 2 in flight each: exercises the fan-out.
    runsPerChild: 4,
    window: 2,
  });
  const client = await connectClient(config);
  const workflowId = `gold-${randomUUID()}`;
  const handle = await client.workflow.start(furtherTraining, {
    taskQueue,
    workflowId,
    args: [input],
  });
  const summary = await handle.result();
  assert.equal(summary.runs, 10);
  const progress = await handle.query(goldProgressQuery);
  assert.deepEqual(progress, { stage: 'done', runsDone: 10, runsTotal: 10 });
  const manifest = await readManifest(store, summary.goldPrefix);
  assert.ok(manifest?.files['gold.arrow'] && manifest.files['summary.json']);

  const got = await committedGold(summary.goldPrefix);
  const want = await inProcessGold(p, input);
  assertSameGold(got, want);

  // Repeating the job finds it committed.
  const again = await client.workflow.execute(furtherTraining, {
    taskQueue,
    workflowId: `gold-${randomUUID()}`,
    args: [input],
  });
  assert.deepEqual(again, summary);
  // A different job (another T) under the same outputPrefix: its committed runs and gold
  // standard are refused, not served.
  await assert.rejects(
    client.workflow.execute(furtherTraining, {
      taskQueue,
      workflowId: `gold-${randomUUID()}`,
      args: [{ ...input, steps: [2, 6] }],
    }),
    (e: unknown) => rootMessage(e, /holds a gold standard of a different job or different inputs/),
  );

  // Evaluate: the gold itself at T=5 (Arrow, columns shuffled), its negation (JSON), and noise.
  const m = got.examples.length;
  const q = got.queries;
  const last = got.score[1];
  const order = [2, 0, 3, 1];
  const shuffled = new Float64Array(q * m);
  for (let j = 0; j < q; j++) {
    order.forEach((c, k) => {
      shuffled[j * m + k] = last[j * m + c];
    });
  }
  await store.put(
    `${p.prefix}/m-gold.arrow`,
    writeScoreMatrix(
      shuffled,
      q,
      order.map((c) => got.examples[c]),
    ),
  );
  const neg = Array.from({ length: q }, (_, j) =>
    Array.from(last.subarray(j * m, (j + 1) * m), (v) => -v),
  );
  await store.put(
    `${p.prefix}/m-neg.json`,
    JSON.stringify({ scores: neg, examples: got.examples }),
  );
  const noise = Array.from({ length: q }, (_, j) => [j + 1, -2, 0.5 * j, 3 - j]);
  await store.put(`${p.prefix}/m-noise.json`, JSON.stringify({ scores: noise }));
  const ev = await client.workflow.execute(evaluate, {
    taskQueue,
    workflowId: `eval-${randomUUID()}`,
    args: [
      {
        goldPrefix: summary.goldPrefix,
        methods: [
          { name: 'gold', key: `${p.prefix}/m-gold.arrow` },
          { name: 'negated', key: `${p.prefix}/m-neg.json` },
          { name: 'noise', key: `${p.prefix}/m-noise.json` },
        ],
        outputPrefix: `${p.prefix}/eval`,
        resamples: 200,
      },
    ],
  });
  assert.equal(ev.rows.length, 6);
  const row = (method: string, step: number) =>
    ev.rows.find((r) => r.method === method && r.step === step)!;
  assert.ok(Math.abs(row('gold', 5).cosine - 1) < 1e-9);
  assert.ok(Math.abs(row('gold', 5).spearman - 1) < 1e-9);
  assert.ok(Math.abs(row('negated', 5).cosine + 1) < 1e-9);
  // Noise at T=2: per-query cosine and Spearman averaged over queries, recomputed here.
  let c = 0;
  let s = 0;
  for (let j = 0; j < q; j++) {
    const g = Array.from(got.score[0].subarray(j * m, (j + 1) * m));
    c += cosine(noise[j], g) / q;
    s += spearman(noise[j], g) / q;
  }
  assert.ok(Math.abs(row('noise', 2).cosine - c) < 1e-9);
  assert.ok(Math.abs(row('noise', 2).spearman - s) < 1e-9);
  const [lo, hi] = row('noise', 2).cosineCI;
  assert.ok(lo <= c + 1e-12 && c - 1e-12 <= hi, `CI [${lo}, ${hi}] holds ${c}`);
  // The same outputPrefix for fewer resamples: the committed evaluation is not served.
  await assert.rejects(
    client.workflow.execute(evaluate, {
      taskQueue,
      workflowId: `eval-${randomUUID()}`,
      args: [
        {
          goldPrefix: summary.goldPrefix,
          methods: [{ name: 'gold', key: `${p.prefix}/m-gold.arrow` }],
          outputPrefix: `${p.prefix}/eval`,
          resamples: 100,
        },
      ],
    }),
    (e: unknown) => rootMessage(e, /holds an evaluation of a different job or different inputs/),
  );
  const evManifest = await readManifest(store, `${p.prefix}/eval`);
  assert.deepEqual(Object.keys(evManifest!.files).sort(), [
    'agreement.arrow',
    'agreement.json',
    'cosine.svg',
    'spearman.svg',
  ]);
  const svg = new TextDecoder().decode(
    await readCommitted(store, `${p.prefix}/eval`, 'cosine.svg'),
  );
  assert.match(svg, /<svg[\s\S]*negated[\s\S]*<\/svg>/);
  await client.connection.close();
});

test('a worker killed mid-run: a new worker resumes the saved runs and the result equals an uninterrupted run', async () => {
  const p = await makeProblem(400, 30, 64, 3);
  const input = jobInput(p, {
    examples: [5, 17],
    steps: [300, 1500],
    training: { optimizer: { kind: 'momentum', momentum: 0.9 }, learningRate: 0.02, batchSize: 64 },
    checkpointEvery: 100,
    heartbeatTimeout: '3s',
  });
  const queue = `gold-crash-${randomUUID()}`;
  const client = await connectClient(config);
  try {
    await withWorkerCrash(queue, async (crash) => {
      const handle = await client.workflow.start(furtherTraining, {
        taskQueue: queue,
        workflowId: `gold-crash-${randomUUID()}`,
        args: [input],
      });
      // Kill the worker as soon as a run has saved its state (and is still training).
      const runs = async () => store.list(`${input.outputPrefix}/runs/`);
      await crash.killWhen(
        async () => (await runs()).some((k) => k.endsWith('.bin')),
        'a run saving its state',
      );
      const committedBefore = (await runs()).filter((k) => k.endsWith('MANIFEST.json')).length;
      assert.ok(committedBefore < 6, 'the worker was killed before every run finished');

      await crash.restart();
      const summary = await handle.result();
      assert.equal(summary.runs, 6);

      // At least one run continued from a saved step instead of step 0.
      const resumed: number[] = [];
      for (const seed of input.seeds) {
        for (const what of ['baseline', 'remove-5', 'remove-17']) {
          const rec = JSON.parse(
            new TextDecoder().decode(
              await readCommitted(
                store,
                `${input.outputPrefix}/runs/seed-${seed}/${what}`,
                'result.json',
              ),
            ),
          );
          resumed.push(rec.resumedFrom);
        }
      }
      assert.ok(
        resumed.some((s) => s > 0 && s % 100 === 0),
        `some run resumed from a checkpoint: ${resumed}`,
      );
      // Saved states are removed once their run is committed.
      assert.equal((await runs()).filter((k) => k.endsWith('.bin')).length, 0);

      const got = await committedGold(summary.goldPrefix);
      assertSameGold(got, await inProcessGold(p, input));
    });
  } finally {
    await client.connection.close();
  }
});

/** The innermost cause of a workflow failure is a non-retryable InputError matching `pattern`. */
function rootMessage(e: unknown, pattern: RegExp): true {
  assert.ok(e instanceof WorkflowFailedError, `got ${e}`);
  let cause: unknown = e.cause;
  while ((cause as { cause?: unknown })?.cause) cause = (cause as { cause?: unknown }).cause;
  const app = cause as { message: string; nonRetryable?: boolean; type?: string };
  assert.match(app.message, pattern);
  assert.equal(app.nonRetryable, true);
  assert.equal(app.type, 'InputError');
  return true;
}

async function expectInputFailure(input: FurtherTrainingInput, pattern: RegExp) {
  const client = await connectClient(config);
  const started = Date.now();
  try {
    await client.workflow.execute(furtherTraining, {
      taskQueue,
      workflowId: `gold-bad-${randomUUID()}`,
      args: [input],
    });
    assert.fail('the workflow should have failed');
  } catch (e) {
    // workflow failure ← activity failure ← application failure (the named problem)
    rootMessage(e, pattern);
  } finally {
    await client.connection.close();
  }
  assert.ok(Date.now() - started < 30_000, 'bad input fails fast, without retries');
  assert.equal(await readManifest(store, `${input.outputPrefix}/gold`), undefined);
  assert.deepEqual(await store.list(`${input.outputPrefix}/`), []);
}

test('bad input fails fast with a non-retryable error naming the problem and commits nothing', async () => {
  const p = await makeProblem(12, 4, 5, 2);
  // Labels out of range: the data has three classes, the model two.
  const tr = gaussianData(12, 4, 3, 5);
  await store.put(`${p.prefix}/bad-labels.arrow`, writeDataset(dataset('bad', tr.x, tr.y, 4, 3)));
  await expectInputFailure(
    jobInput(p, { trainKey: `${p.prefix}/bad-labels.arrow` }),
    /training labels \(the model has 2 classes\)\[2\] = 2 is out of range/,
  );
  // NaN features (written without the dataset writer, which would refuse them).
  const x = Float32Array.from(p.train.x);
  x[9] = Number.NaN;
  await store.put(
    `${p.prefix}/nan.arrow`,
    writeColumns(
      12,
      {
        id: { values: Int32Array.from({ length: 12 }, (_, i) => i) },
        label: { values: p.train.y },
        x: { values: x, width: 4 },
      },
      { kind: 'tabular', shape: '[4]', classes: '["c0","c1"]', name: 'nan' },
    ),
  );
  await expectInputFailure(
    jobInput(p, { trainKey: `${p.prefix}/nan.arrow` }),
    /feature 1 of row 2 is NaN/,
  );
  // Shape mismatch: 5 features per query for a 4-input model.
  const qs = gaussianData(3, 5, 2, 6);
  await store.put(`${p.prefix}/q5.arrow`, writeDataset(dataset('q5', qs.x, qs.y, 5, 2)));
  await expectInputFailure(
    jobInput(p, { queryKey: `${p.prefix}/q5.arrow` }),
    /shape mismatch: query data has 5 values per example .* needs 4/,
  );
  await expectInputFailure(
    jobInput(p, {
      training: {
        optimizer: { kind: 'rmsprop' } as never,
        learningRate: 0.1,
        batchSize: 4,
      },
    }),
    /training\.optimizer\.kind: Invalid discriminator value\. Expected 'sgd' \| 'momentum' \| 'adam'/,
  );
});
