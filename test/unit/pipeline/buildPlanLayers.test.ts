/**
 * A model with a parameterized layer the gradient engine does not support fails at plan time,
 * before any shard is featurized: a SpecError (non-retryable in Temporal, see
 * activities/classify.ts) naming the layer, its type and the selection that excludes it; with
 * that selection the same model plans.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import { FsStore } from '../../../lib/store/fsStore';
import { initBackend } from '../../../lib/tf/backend';
import { makeTinyRun } from '../../support/tinyRun';

function withPRelu(): tfl.LayersModel {
  const input = tfl.input({ shape: [6] });
  const h = tfl.layers.dense({ units: 8, name: 'hidden' }).apply(input);
  const a = tfl.layers.prelu({ name: 'leaky' }).apply(h);
  const out = tfl.layers.dense({ units: 3, name: 'logits' }).apply(a) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'with_prelu' });
}

test('an unsupported layer fails the plan, named with its type and how to exclude it', async () => {
  await initBackend('cpu');
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-layers-')));
  const spec = await makeTinyRun(store, 'p', { trainRows: 30, rowsPerPart: 30 });
  const err = await buildPlan(store, spec, async () => withPRelu()).then(
    () => assert.fail('planned a model with an unsupported layer'),
    (e: Error) => e,
  );
  assert.equal(err.name, 'SpecError');
  assert.match(
    err.message,
    /^layers: layer 'leaky' \(PReLU\) is not supported for per-example gradients \(supported: [^)]*Dense[^)]*\); exclude it by naming the layers to attribute, e\.g\. layers: \{names: \["hidden","logits"\]\}$/,
  );
  const plan = await buildPlan(
    store,
    { ...spec, layers: { names: ['hidden', 'logits'] } },
    async () => withPRelu(),
  );
  assert.equal(plan.spec.layers && typeof plan.spec.layers, 'object');
});
