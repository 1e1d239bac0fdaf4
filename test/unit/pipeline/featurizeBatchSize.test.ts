import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import { FEATURES_FILE, featurizeShard } from '../../../lib/pipeline/featurizeShard';
import { RunContext } from '../../../lib/pipeline/runContext';
import { storePlan } from '../../../lib/pipeline/storePlan';
import { readCommitted } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';
import { initBackend } from '../../../lib/tf/backend';
import { makeTinyRun } from '../../support/tinyRun';

/**
 * batchSize is on the scheduling list of run and audit specs (lib/specAddress.ts): it is left out
 * of every content address, which is only right if a shard's feature file is the same bytes
 * whatever the batch size. Every projector kind, with batches that do and do not divide the shard.
 */
const projectors = [
  { kind: 'none' as const },
  { kind: 'kronecker' as const, k1: 4, k2: 3 },
  { kind: 'gaussian' as const, k: 16 },
];
for (const projector of projectors) {
  test(`featurize writes the same bytes at batch sizes 1, 7 and 256 (${projector.kind})`, async () => {
    await initBackend('cpu');
    const files: Uint8Array[] = [];
    for (const batchSize of [1, 7, 256]) {
      const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-batch-')));
      const spec = await makeTinyRun(store, 'p', { trainRows: 40, rowsPerPart: 40 });
      const ctx = new RunContext(store);
      const plan = await buildPlan(store, { ...spec, projector, batchSize }, (k) => ctx.model(k));
      const planKey = await storePlan(store, plan);
      ctx.rememberPlan(planKey, plan);
      await featurizeShard(ctx, { planKey, set: 'train', shard: 0, checkpoints: [1] });
      files.push(await readCommitted(store, ctx.featurePrefix(plan, 'train', 0, 1), FEATURES_FILE));
    }
    assert.ok(files[0].byteLength > 0);
    assert.deepEqual(files[1], files[0], 'batch size 7');
    assert.deepEqual(files[2], files[0], 'batch size 256');
  });
}
