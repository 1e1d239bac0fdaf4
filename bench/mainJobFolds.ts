/**
 * bench:main-folds — how long npm start's out-of-fold models must train: the main job's audit
 * folds (lib/jobs/mainJob's mainJobAudit: split, seeds, architecture, optimizer, batch size)
 * trained for up to --epochs at --lr, in this process, on the main job's training set as the
 * store holds it (run `npm start` first). For every fold length E ≤ --epochs it reports the
 * fraction of flipped labels found in the top 10% by the out-of-fold self-confidence at epoch E,
 * averaged over epochs 1..E (the audit's selfConfidenceCheckpoints with a checkpoint per epoch),
 * and that average rank-averaged with the attribution's in-sample influence self-score (the
 * out-of-fold option's default ranking), from the committed attribution run --run.
 *
 *   npm run bench:main-folds -- --run runs/fashion-mnist-demo/<hash> [--epochs 14 --lr 0.05]
 *
 * Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { readColumn, readTable } from '../lib/arrow/columns';
import { parseAuditInput } from '../lib/audit/auditSpec';
import { loadConfig } from '../lib/config';
import { takeRows } from '../lib/data/dataset';
import { readAllParts } from '../lib/data/partitionedDataset';
import { kFolds } from '../lib/data/split';
import { DEFAULT_FRACTIONS, mislabelReport } from '../lib/eval/mislabel';
import { MAIN_JOB, mainJobAudit } from '../lib/jobs/mainJob';
import { rankAverage } from '../lib/methods/rankAverage';
import { buildModel } from '../lib/model/architectures';
import { inputTensor } from '../lib/pipeline/featurizeDataset';
import { readCommitted } from '../lib/store/commit';
import { S3Store } from '../lib/store/s3Store';
import { initBackend } from '../lib/tf/backend';
import { batchesPerEpoch } from '../lib/train/batchOrder';
import { forwardLogits, planChain } from '../lib/train/forward';
import { train, writeWeights } from '../lib/train/trainer';
import type { TrainState } from '../lib/train/trainState';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    epochs: { type: 'string', default: '14' },
    lr: { type: 'string' },
  },
});
if (!values.run) throw new Error('--run runs/fashion-mnist-demo/<hash> (printed by npm start)');
const config = loadConfig();
await initBackend(config.backend, (m) => console.log(m));
const store = new S3Store(config.s3);
const oof = parseAuditInput(mainJobAudit()).outOfFold;
if (!oof) throw new Error('the main job audit has no out-of-fold option');
const epochs = Number(values.epochs);
const lr = values.lr === undefined ? oof.learningRate : Number(values.lr);

const examples = readTable(await readCommitted(store, values.run, 'examples.arrow'), 'examples');
const inSample = Float64Array.from(
  readColumn<Float64Array>(examples, 'self_influence', 'float64', 'examples.arrow').values,
);
const ds = await readAllParts(store, MAIN_JOB.train);
if (!ds.flipped) throw new Error(`${MAIN_JOB.train} records no flipped labels`);
const flipped = Array.from(ds.flipped, (f) => f === 1);
const k = ds.classes.length;
const assign = kFolds(ds.rows, oof.folds, oof.seed);
// Per epoch, each row's 1 − p(given label) from the fold model that did not see it.
const perEpoch = Array.from({ length: epochs }, () => new Float64Array(ds.rows));
const t0 = performance.now();
for (let f = 0; f < oof.folds; f++) {
  const fitRows: number[] = [];
  const heldRows: number[] = [];
  for (let i = 0; i < ds.rows; i++) (assign[i] === f ? heldRows : fitRows).push(i);
  const fit = takeRows(ds, fitRows);
  const held = takeRows(ds, heldRows);
  // As lib/audit/trainFold builds and trains a fold model.
  const model = buildModel(oof.architecture, { shape: ds.shape, classes: k }, oof.seed);
  const x = inputTensor(model, fit, 0, fit.rows);
  const hx = inputTensor(model, held, 0, held.rows);
  const steps = batchesPerEpoch(fit.rows, oof.batchSize);
  const states: TrainState[] = [];
  await train(
    model,
    { x, labels: fit.labels },
    { optimizer: oof.optimizer, learningRate: lr, batchSize: oof.batchSize, seed: oof.seed + f },
    steps * epochs,
    { checkpointEvery: steps, onCheckpoint: (s) => void states.push(s) },
  );
  states.forEach((s, e) => {
    writeWeights(model, s.weights);
    const probs = tf.tidy(() => tf.softmax(forwardLogits(planChain(model), hx)));
    const p = probs.dataSync();
    probs.dispose();
    heldRows.forEach((r, j) => {
      perEpoch[e][r] = 1 - p[j * k + held.labels[j]];
    });
  });
  tf.dispose([x, hx]);
  model.dispose();
  console.log(
    `fold ${f + 1}/${oof.folds} trained (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
}
const at10 = (s: ArrayLike<number>) =>
  mislabelReport(s, flipped, DEFAULT_FRACTIONS).foundAt.find((q) => q.fraction === 0.1)
    ?.found as number;
const rows: { epochs: number; last: number; averaged: number; mixed: number }[] = [];
const sum = new Float64Array(ds.rows);
for (let e = 1; e <= epochs; e++) {
  perEpoch[e - 1].forEach((v, i) => {
    sum[i] += v;
  });
  const averaged = Float64Array.from(sum, (v) => v / e);
  rows.push({
    epochs: e,
    last: at10(perEpoch[e - 1]),
    averaged: at10(averaged),
    mixed: at10(rankAverage([averaged, inSample])),
  });
  const r = rows[rows.length - 1];
  console.log(
    `${e} epochs: last ${r.last.toFixed(4)}, averaged over the checkpoints ${r.averaged.toFixed(4)}, rank-averaged with the in-sample score ${r.mixed.toFixed(4)}`,
  );
}
console.log(
  JSON.stringify({
    learning_rate: lr,
    folds: oof.folds,
    in_sample_found_at_10pct: at10(inSample),
    found_at_10pct: rows,
    seconds: (performance.now() - t0) / 1000,
  }),
);
