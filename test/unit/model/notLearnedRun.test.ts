import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runAuditInProcess } from '../../../lib/audit/runAuditInProcess';
import { writePartitioned } from '../../../lib/data/partitionedDataset';
import type { CheckpointManifest } from '../../../lib/model/checkpoints';
import { runInProcess } from '../../../lib/pipeline/runInProcess';
import { buildReport } from '../../../lib/report/buildReport';
import { renderReport } from '../../../lib/report/renderReport';
import { FsStore } from '../../../lib/store/fsStore';
import { getJson, putJson } from '../../../lib/store/objectStore';
import { initBackend } from '../../../lib/tf/backend';
import { blobs, makeTinyRun } from '../../support/tinyRun';

await initBackend('cpu', () => {});

test('a run and an audit over checkpoints that show no learning say so, in the summary and the report', async () => {
  const store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-notlearned-')));
  const spec = await makeTinyRun(store, 'p', { trainRows: 60 });
  // The fit tda train records, here of a model whose loss never fell below its first value.
  const m = await getJson<CheckpointManifest>(store, spec.checkpoints);
  m.checkpoints.forEach((c, i) => {
    c.metrics = { train: { loss: 1.1 + 0.01 * i, accuracy: 0.36, rows: 60 } };
  });
  await putJson(store, spec.checkpoints, m);

  const summary = await runInProcess(store, spec);
  assert.equal(summary.warnings?.length, 1);
  assert.match(
    summary.warnings![0],
    /has not learned: .*near chance .*not below 1\.100 at step 10/,
  );
  const report = await buildReport(store, summary);
  const html = renderReport(report.data);
  assert.match(
    html,
    /class="warning"><b>Warning:<\/b> the checkpoints show a model that has not learned/,
  );

  await writePartitioned(store, 'incoming/b1', blobs('b1', 40, 6, 3), 40);
  const audit = await runAuditInProcess(
    store,
    { name: 'nightly', data: 'incoming', checkpoints: spec.checkpoints, shardSize: 20 },
    '2025-01-01T00:00:00Z',
  );
  assert.match(audit.warnings?.[0] ?? '', /has not learned/);

  // The same checkpoints with a fit that improved: no warning.
  m.checkpoints.forEach((c, i) => {
    c.metrics = { train: { loss: 1.1 - 0.3 * i, accuracy: 0.5 + 0.2 * i, rows: 60 } };
  });
  await putJson(store, spec.checkpoints, m);
  const learned = await runInProcess(store, { ...spec, topK: 3 });
  assert.equal(learned.warnings, undefined);
});
