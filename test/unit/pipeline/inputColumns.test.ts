import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GradientMatrix } from '../../../lib/features';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import { openFeatureFile, readFeatureFile } from '../../../lib/pipeline/featureFile';
import { featurizeDataset } from '../../../lib/pipeline/featurizeDataset';
import {
  FEATURES_FILE,
  featurizeShard,
  shardFeaturizeSpec,
} from '../../../lib/pipeline/featurizeShard';
import {
  checkInputColumns,
  dropInputColumns,
  inputColumnsOf,
  restoreInputColumns,
} from '../../../lib/pipeline/inputColumns';
import { RunContext } from '../../../lib/pipeline/runContext';
import type { RunSpecInput } from '../../../lib/pipeline/runSpec';
import { storePlan } from '../../../lib/pipeline/storePlan';
import { readCommitted } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { initBackend } from '../../../lib/tf/backend';
import { makeTinyRun } from '../../support/tinyRun';

/** Featurizes train shard 1 at checkpoint 1 and returns the committed file and the reference. */
async function featurized(
  extra: Partial<RunSpecInput>,
  chunkRows?: number,
  activation?: 'tanh' | 'relu',
) {
  await initBackend('cpu');
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-inputcols-')));
  const spec = await makeTinyRun(store, 'p', { trainRows: 90, rowsPerPart: 90, activation });
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, { ...spec, shardSize: 40, batchSize: 8, ...extra }, (k) =>
    ctx.model(k),
  );
  const planKey = await storePlan(store, plan);
  ctx.rememberPlan(planKey, plan);
  await featurizeShard(ctx, { planKey, set: 'train', shard: 1, checkpoints: [1] }, { chunkRows });
  const bytes = await readCommitted(store, ctx.featurePrefix(plan, 'train', 1, 1), FEATURES_FILE);
  const shard = plan.train.shards[1];
  const part = await ctx.dataPart(plan.train.prefix, shard.part);
  // The engine's own output for the same rows and batches: what the file must stand for.
  const model = await ctx.model(plan.checkpoints[1].key);
  const reference = featurizeDataset(model, part, shard.start, shard.end, shardFeaturizeSpec(plan));
  const read = await ctx.features(plan, 'train', 1, 1);
  return { bytes, read, reference, shard, part, ctx, plan };
}

for (const chunkRows of [undefined, 16]) {
  test(`exact factors leave the first layer's inputs to the part and read back bit for bit (chunkRows ${chunkRows ?? 'default'})`, async () => {
    const { bytes, read, reference, shard } = await featurized(
      { projector: { kind: 'none' } },
      chunkRows,
    );
    // Shard 1 is rows 40..79 of its part: 3 chunks of 16 when chunked.
    assert.equal(shard.start, 40);
    const { meta } = openFeatureFile(bytes);
    // The tiny MLP's first layer reads 6 inputs: a₁ = [x, 1] is 7 columns of 8 + 7 + 9 + 3.
    assert.equal(meta.inputColumns, 7);
    // tanh units are never exactly off: no zeros to suppress.
    assert.equal(meta.sparse, undefined);
    assert.equal(read.features.grads.dim, reference.grads.dim);
    assert.equal(read.features.grads.rows, shard.end - shard.start);
    assert.deepEqual(read.features.grads.data, reference.grads.data);
    assert.deepEqual(read.features.sqNorm, reference.sqNorm);
    // The file holds only the other columns.
    const stored = openFeatureFile(bytes);
    assert.throws(() => stored.complete(), /stores its first 7 columns by reference/);
  });
}

test('files whose first stored layer does not read the model input are written whole', async () => {
  for (const extra of [
    { projector: { kind: 'none' as const }, layers: 'last' as const },
    { projector: { kind: 'kronecker' as const, k1: 4, k2: 3 } },
    { projector: { kind: 'none' as const, dtype: 'float16' as const } },
  ]) {
    const { bytes, read, reference } = await featurized(extra);
    assert.equal(openFeatureFile(bytes).meta.inputColumns, undefined, JSON.stringify(extra));
    assert.equal(read.features.grads.dim, reference.grads.dim);
  }
});

test('a shard under a quarter of its part stores its inputs (its readers need not fetch the part) and reads back bit for bit', async () => {
  // Shard 1 is rows 20..39 of a part of 90: by reference at 23 rows or more.
  const { bytes, read, reference, shard } = await featurized({
    projector: { kind: 'none' },
    shardSize: 20,
  });
  assert.equal(shard.end - shard.start, 20);
  assert.equal(openFeatureFile(bytes).meta.inputColumns, undefined);
  assert.deepEqual(read.features.grads.data, reference.grads.data);
  assert.deepEqual(read.features.sqNorm, reference.sqNorm);
  // Complete without the part.
  assert.deepEqual(readFeatureFile(bytes).features.grads.data, reference.grads.data);
});

test('a file is never completed from the wrong rows', async () => {
  const { bytes, part, shard } = await featurized({ projector: { kind: 'none' } });
  assert.throws(
    () =>
      readFeatureFile(bytes, 'f.arrows', { ds: part, start: shard.start - 1, end: shard.end - 1 }),
    /f\.arrows: row 0 is example id 40, but its input part's row 39 is id 39/,
  );
  assert.throws(
    () => readFeatureFile(bytes, 'f.arrows', { ds: part, start: shard.start, end: shard.end - 1 }),
    new RegExp(
      `f\\.arrows has ${shard.end - shard.start} rows where its input part has ${shard.end - shard.start - 1}`,
    ),
  );
});

test('inputColumnsOf compares bits: one differing value, a missing 1 or a -0 disqualifies', () => {
  const d = 3;
  const rows = 2;
  const x = Float32Array.from([1, 2, 3, 4, 0, 6]);
  const ds = {
    name: 't',
    kind: 'tabular' as const,
    shape: [d],
    classes: ['a'],
    rows,
    ids: Int32Array.from([0, 1]),
    labels: Int32Array.from([0, 0]),
    x,
  };
  const layers = [
    { name: 'l', offset: 0, size: 6, factors: { positions: 1, inDim: 4, outDim: 2 } },
  ];
  const grads = (data: number[]): GradientMatrix => ({
    rows,
    dim: 6,
    data: Float32Array.from(data),
    layers,
  });
  const input = { ds, start: 0, end: 2 };
  const good = grads([1, 2, 3, 1, 9, 8, 4, 0, 6, 1, 7, 5]);
  assert.equal(inputColumnsOf(good, input), 4);
  assert.equal(inputColumnsOf(grads([1, 2, 3, 1, 9, 8, 4, 0, 6.000001, 1, 7, 5]), input), 0);
  assert.equal(inputColumnsOf(grads([1, 2, 3, 1, 9, 8, 4, 0, 6, 0.5, 7, 5]), input), 0);
  assert.equal(inputColumnsOf(grads([1, 2, 3, 1, 9, 8, 4, -0, 6, 1, 7, 5]), input), 0);
  assert.throws(
    () => checkInputColumns(grads([1, 2, 3, 0, 9, 8, 4, 0, 6, 1, 7, 5]), input, 4, 'chunk 2'),
    /chunk 2: rows 0\.\.1 do not store their inputs/,
  );
  const stored = dropInputColumns(good, 4);
  assert.deepEqual(stored, Float32Array.from([9, 8, 7, 5]));
  assert.deepEqual(restoreInputColumns(stored, 2, 4, ds.ids, input, 'f'), good.data);
});

for (const chunkRows of [undefined, 16]) {
  test(`ReLU's zeros are suppressed in the file and restored bit for bit (chunkRows ${chunkRows ?? 'default'})`, async () => {
    const { bytes, read, reference } = await featurized(
      { projector: { kind: 'none' } },
      chunkRows,
      'relu',
    );
    const { meta } = openFeatureFile(bytes);
    assert.equal(meta.inputColumns, 7);
    assert.equal(meta.sparse, true);
    const zeros = reference.grads.data.filter((v) => Object.is(v, 0)).length;
    assert.ok(zeros / reference.grads.data.length > 0.25, `${zeros} zeros`);
    assert.deepEqual(read.features.grads.data, reference.grads.data);
    assert.deepEqual(read.features.layerSqNorm, reference.layerSqNorm);
  });
}
