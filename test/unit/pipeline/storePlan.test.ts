import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildPlan } from '../../../lib/pipeline/buildPlan';
import { RunContext } from '../../../lib/pipeline/runContext';
import { runInProcess } from '../../../lib/pipeline/runInProcess';
import { SpecError } from '../../../lib/pipeline/runSpec';
import { storePlan } from '../../../lib/pipeline/storePlan';
import type { Plan } from '../../../lib/pipeline/types';
import { FsStore } from '../../../lib/store/fsStore';
import { getJson, putJson } from '../../../lib/store/objectStore';
import { initBackend } from '../../../lib/tf/backend';
import { makeTinyRun } from '../../support/tinyRun';

test('a stored plan computed for another spec is never served, whatever its key', async () => {
  await initBackend('cpu');
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-storeplan-')));
  const spec = await makeTinyRun(store, 'p', { trainRows: 40, rowsPerPart: 40 });
  const ctx = new RunContext(store);
  const plan = await buildPlan(store, spec, (k) => ctx.model(k));
  const key = await storePlan(store, plan);
  // The same request again, or one differing only in scheduling fields: the plan is reused.
  assert.equal(await storePlan(store, plan), key);
  const rescheduled = await buildPlan(store, { ...spec, window: 3, batchSize: 5 }, (k) =>
    ctx.model(k),
  );
  assert.equal(rescheduled.runPrefix, plan.runPrefix);
  assert.equal(await storePlan(store, rescheduled), key);

  // A plan at this key written for an influence self-score (as an address that left selfScore
  // out once did): the tracin request is refused, naming the field, by both runners.
  const stored = await getJson<Plan>(store, key);
  const body = stored.address as { spec: Record<string, unknown> };
  body.spec.selfScore = { kind: 'influence', layers: 'last', relativeDamping: 0.01 };
  await putJson(store, key, stored);
  await assert.rejects(storePlan(store, plan), (e: unknown) => {
    assert.ok(e instanceof SpecError);
    assert.match(
      e.message,
      /plan\.json holds a result computed for a different spec .*spec\.selfScore/,
    );
    return true;
  });
  await assert.rejects(runInProcess(store, spec), /different spec/);
});
