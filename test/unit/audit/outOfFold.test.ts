import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { planAudit } from '../../../lib/audit/planAudit';
import { readRanking } from '../../../lib/audit/reportAudit';
import { runAuditInProcess } from '../../../lib/audit/runAuditInProcess';
import { readFoldScores, trainFold } from '../../../lib/audit/trainFold';
import { writePartitioned } from '../../../lib/data/partitionedDataset';
import { kFolds } from '../../../lib/data/split';
import { rankAverage } from '../../../lib/methods/rankAverage';
import { buildModel } from '../../../lib/model/architectures';
import { RunContext } from '../../../lib/pipeline/runContext';
import { readCommitted } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { initBackend } from '../../../lib/tf/backend';
import { batchesPerEpoch } from '../../../lib/train/batchOrder';
import { train } from '../../../lib/train/trainer';
import { blobs, makeTinyRun } from '../../support/tinyRun';

await initBackend('cpu', () => {});

const OOF = {
  folds: 3,
  seed: 2,
  architecture: { kind: 'mlp' as const, hidden: [8] },
  epochs: 4,
  checkpointEvery: 1,
  learningRate: 0.1,
  batchSize: 16,
};

async function setUp() {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-oof-')));
  const spec = await makeTinyRun(store, 'm', { trainRows: 30, queryRows: 4 });
  const data = blobs('night-1', 90, 6, 21);
  await writePartitioned(store, 'incoming/2025-01-01', data, 40);
  const input = {
    name: 'oof',
    data: 'incoming',
    checkpoints: spec.checkpoints,
    projector: { kind: 'gaussian', k: 8, seed: 1 },
    topK: 12,
    shardSize: 25,
    batchSize: 16,
    outOfFold: { ...OOF, rankBy: 'rankAverage' },
  };
  return { store, data, input };
}

test('out-of-fold audit: each row scored by the model that did not see it, ranked by the rank average', async () => {
  const { store, data, input } = await setUp();
  const s = await runAuditInProcess(store, input, '2025-01-01T02:00:00.000Z');
  assert.match(s.method, /rank average of out-of-fold self-confidence/);
  assert.equal(s.outOfFold?.folds, 3);
  assert.equal(s.outOfFold?.foldAccuracy.length, 3);
  assert.deepEqual(s.outOfFold?.resumedFrom, [0, 0, 0]);
  assert.equal(s.classAccuracy, 'out-of-fold (held-out)');
  assert.equal(
    s.classes.reduce((a, c) => a + c.suspects, 0),
    12,
  );
  assert.deepEqual(
    s.classes.map((c) => c.rows),
    [0, 1, 2].map((c) => data.labels.filter((y) => y === c).length),
  );

  // Reference for fold 0: its model trained here on the rows outside fold 0, then p(given label)
  // of the fold's rows from tfjs-layers' own predict + softmax.
  const assign = kFolds(90, 3, OOF.seed);
  const fit = [...assign.keys()].filter((i) => assign[i] !== 0);
  const held = [...assign.keys()].filter((i) => assign[i] === 0);
  const rowsOf = (idx: number[]) =>
    tf.tensor2d(
      Float32Array.from(
        idx.flatMap((i) => [...(data.x as Float32Array).subarray(i * 6, i * 6 + 6)]),
      ),
      [idx.length, 6],
    );
  const model = buildModel(OOF.architecture, { shape: [6], classes: 3 }, OOF.seed);
  const fx = rowsOf(fit);
  await train(
    model,
    { x: fx, labels: Int32Array.from(fit, (i) => data.labels[i]) },
    { optimizer: { kind: 'momentum', momentum: 0.9 }, learningRate: 0.1, batchSize: 16, seed: 2 },
    batchesPerEpoch(fit.length, 16) * OOF.epochs,
  );
  const p = tf.softmax(model.predict(rowsOf(held)) as tf.Tensor2D).arraySync() as number[][];
  const ctx = new RunContext(store);
  const { plan } = await planAudit(store, input, '2025-01-01T02:00:00.000Z', (k) => ctx.model(k));
  const f0 = await readFoldScores(store, plan, 0);
  assert.deepEqual([...f0.scores.row], held);
  held.forEach((i, j) => {
    const want = 1 - p[j][data.labels[i]];
    assert.ok(
      Math.abs(f0.scores.selfConfidence[j] - want) < 1e-5,
      `row ${i}: ${f0.scores.selfConfidence[j]} vs ${want}`,
    );
  });

  // The committed ranking is the rank average of the folds' two scores, in row order.
  const conf = new Float64Array(90);
  const infl = new Float64Array(90);
  for (let f = 0; f < 3; f++) {
    const { scores } = await readFoldScores(store, plan, f);
    scores.row.forEach((r, j) => {
      conf[r] = scores.selfConfidence[j];
      infl[r] = scores.selfInfluence[j];
    });
  }
  const want = rankAverage([conf, infl]);
  const ranking = readRanking(await readCommitted(store, s.prefix, 'ranking.arrow'));
  for (let r = 0; r < 90; r++) assert.equal(ranking.score[r], want[ranking.id[r]]);
});

test('a fold interrupted mid-training resumes from its saved checkpoint with identical scores', async () => {
  const a = await setUp();
  const b = await setUp();
  const ctxA = new RunContext(a.store);
  const ctxB = new RunContext(b.store);
  const time = '2025-01-01T02:00:00.000Z';
  const { plan: planA } = await planAudit(a.store, a.input, time, (k) => ctxA.model(k));
  const { plan: planB } = await planAudit(b.store, b.input, time, (k) => ctxB.model(k));
  assert.equal(planA.outOfFold?.prefix, planB.outOfFold?.prefix, 'fold addresses are by content');

  const whole = await trainFold(a.store, planA, 1);
  assert.equal(whole.resumedFrom, 0);
  const perEpoch = batchesPerEpoch(whole.trainRows, OOF.batchSize);
  // Crash in the third epoch: two epochs' checkpoints are saved.
  await assert.rejects(
    trainFold(b.store, planB, 1, {
      onStep: (step) => {
        if (step === 2 * perEpoch + 1) throw new Error('worker lost');
      },
    }),
    /worker lost/,
  );
  const resumed = await trainFold(b.store, planB, 1);
  assert.equal(resumed.resumedFrom, 2 * perEpoch);
  assert.deepEqual(resumed.checkpoints, whole.checkpoints);
  const sa = (await readFoldScores(a.store, planA, 1)).scores;
  const sb = (await readFoldScores(b.store, planB, 1)).scores;
  assert.deepEqual(sb, sa);
  // A committed fold is returned as it is.
  assert.deepEqual(await trainFold(b.store, planB, 1), resumed);
});

test('out-of-fold: an architecture that does not fit the data is an input error naming the field', async () => {
  const { store, input } = await setUp();
  const bad = {
    ...input,
    outOfFold: { ...input.outOfFold, architecture: { kind: 'text', embedding: 4 } },
  };
  await assert.rejects(
    runAuditInProcess(store, bad, '2025-01-01T02:00:00.000Z'),
    (e: Error) => e.name === 'InputError' && /outOfFold\.architecture: text/.test(e.message),
  );
});

test("a fold model's self-influence follows the audit's influence self-score (a sketch of exact factors scores as the Kronecker projector's features do; K-FAC), in its scores' address; the model is trained once for all three", async () => {
  const { store, input } = await setUp();
  const sketch = { k1: 4, k2: 2, seed: 3 };
  const audits = {
    sketched: {
      projector: { kind: 'none' },
      selfScore: { kind: 'influence', layers: 'last', sketch },
    },
    projected: {
      projector: { kind: 'kronecker', ...sketch, dtype: 'float32', engine: 'tf' },
      selfScore: { kind: 'influence', layers: 'last' },
    },
    kfac: {
      projector: { kind: 'none' },
      selfScore: { kind: 'influence', layers: 'last', curvature: 'kfac' },
    },
  };
  const ctx = new RunContext(store);
  const models = new Set<string | undefined>();
  const scores = new Set<string | undefined>();
  const resumedFrom: number[] = [];
  let steps = 0;
  const scored: Record<string, Float64Array> = {};
  for (const [i, [name, settings]] of Object.entries(audits).entries()) {
    // One nightly audit, its settings changed from one night to the next.
    const time = `2025-01-0${i + 1}T02:00:00.000Z`;
    const { plan } = await planAudit(store, { ...input, ...settings }, time, (k) => ctx.model(k));
    models.add(plan.outOfFold?.prefix);
    scores.add(plan.outOfFold?.scores);
    let beats = 0;
    const summary = await trainFold(store, plan, 0, { onScoring: () => beats++ });
    resumedFrom.push(summary.resumedFrom);
    steps = batchesPerEpoch(summary.trainRows, OOF.batchSize) * OOF.epochs;
    // A heartbeat after each checkpoint's features, curvature and scores (and their chunks).
    assert.ok(beats >= 3 * summary.checkpoints.length, `${beats} heartbeats`);
    scored[name] = (await readFoldScores(store, plan, 0)).scores.selfInfluence;
  }
  assert.equal(models.size, 1, 'the fold model does not depend on how it is scored');
  assert.equal(scores.size, 3, 'each self-influence setting has its own scores');
  assert.deepEqual(resumedFrom, [0, steps, steps], 'trained once, then read back');
  assert.deepEqual(scored.sketched, scored.projected);
  const differs = scored.kfac.some((v, i) => Math.abs(v - scored.sketched[i]) > 1e-3 * v);
  assert.ok(differs, 'K-FAC scores are not the Gram of the sketch');
});
