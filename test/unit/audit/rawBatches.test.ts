import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { parseAuditInput } from '../../../lib/audit/auditSpec';
import { batchNameOf, pendingRawFiles } from '../../../lib/audit/rawBatches';
import { runAuditInProcess } from '../../../lib/audit/runAuditInProcess';
import type { Dataset } from '../../../lib/data/dataset';
import { importData } from '../../../lib/data/import/importData';
import { readAllParts } from '../../../lib/data/partitionedDataset';
import { FsStore } from '../../../lib/store/fsStore';
import { initBackend } from '../../../lib/tf/backend';
import { blobs, makeTinyRun } from '../../support/tinyRun';

await initBackend('cpu', () => {});

const COLS = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];

/** A blobs data set as a CSV table with a header: id, f0..f5, label (a/b/c). */
function csvOf(ds: Dataset, idBase: number, drop?: string): string {
  const cols = COLS.filter((c) => c !== drop);
  const lines = [['id', ...cols, 'label'].join(',')];
  for (let i = 0; i < ds.rows; i++) {
    const f = COLS.map((_, j) => ds.x![i * 6 + j]).filter((_, j) => COLS[j] !== drop);
    lines.push([`r${idBase + i}`, ...f, ds.classes[ds.labels[i]]].join(','));
  }
  return lines.join('\n');
}

function parquetOf(ds: Dataset, idBase: number): Uint8Array {
  const cols: Record<string, unknown> = {
    id: Array.from({ length: ds.rows }, (_, i) => `r${idBase + i}`),
  };
  COLS.forEach((c, j) => {
    cols[c] = Float64Array.from({ length: ds.rows }, (_, i) => ds.x![i * 6 + j]);
  });
  cols.label = Array.from(ds.labels, (l) => ds.classes[l]);
  const t = tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]);
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(t, 'stream')));
}

test('batch names from raw file names', () => {
  assert.equal(batchNameOf('2025-06-01.parquet'), '2025-06-01');
  assert.equal(batchNameOf('day/2025-06-01.csv.gz'), 'day-2025-06-01');
  assert.equal(batchNameOf('x y.jsonl'), 'x-y');
});

test('an audit watching raw files imports each new one with the saved encoding, rejects a mismatch once and reports it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tda-raw-audit-'));
  const store = new FsStore(join(dir, 'store'));
  const spec = await makeTinyRun(store, 'm', { trainRows: 60, queryRows: 4 });
  // The first data set, imported by `tda import` (its encoding is what later files are held to).
  await writeFile(join(dir, 'initial.csv'), csvOf(blobs('initial', 50, 6, 31), 0));
  const initial = await importData(join(dir, 'initial.csv'), store, 'incoming/0-initial', {
    label: 'label',
    id: 'id',
  });
  const day1 = blobs('day1', 30, 6, 32);
  const day2 = blobs('day2', 20, 6, 33);
  await store.put('landing/2025-01-01.csv', csvOf(day1, 100));
  await store.put('landing/2025-01-02.parquet', parquetOf(day2, 200));
  await store.put('landing/2025-01-03.csv', csvOf(day1, 300, 'f3'));
  await store.put('landing/README.txt', 'not a table');
  const input = {
    name: 'raw-nightly',
    data: 'incoming',
    checkpoints: spec.checkpoints,
    projector: { kind: 'gaussian' as const, k: 8, seed: 1 },
    topK: 5,
    shardSize: 25,
    raw: { prefix: 'landing', like: 'incoming/0-initial' },
  };
  const first = await runAuditInProcess(store, input, '2025-01-03T02:00:00.000Z');
  assert.deepEqual(
    first.batches.map((b) => [b.name, b.rows]),
    [
      ['0-initial', 50],
      ['2025-01-01', 30],
      ['2025-01-02', 20],
    ],
  );
  assert.equal(first.rejectedFiles?.length, 1);
  const [rej] = first.rejectedFiles!;
  assert.equal(rej.batch, '2025-01-03');
  assert.match(rej.file, /landing\/2025-01-03\.csv$/);
  assert.match(
    rej.error,
    /2025-01-03\.csv does not match the data set's schema: it lacks column "f3"/,
  );
  assert.equal(await store.exists('incoming/2025-01-03/MANIFEST.json'), false);

  // Imported with the initial set's means and standard deviations, not the batch's own.
  const got = await readAllParts(store, 'incoming/2025-01-02');
  const f = initial.encoding.features!;
  for (let i = 0; i < day2.rows; i++) {
    for (let j = 0; j < 6; j++) {
      const e = f[j] as { mean: number; std: number };
      const want = (day2.x![i * 6 + j] - e.mean) / e.std;
      assert.ok(Math.abs(got.x![i * 6 + j] - want) < 1e-5, `row ${i} f${j}`);
    }
  }
  assert.equal(got.keys![0], 'r200');

  // The next night: the rejected file is not tried again, only a new file is imported.
  assert.deepEqual(await pendingRawFiles(store, parseAuditInput(input)), []);
  await store.put('landing/2025-01-04.csv', csvOf(blobs('day4', 10, 6, 34), 400));
  const second = await runAuditInProcess(store, input, '2025-01-04T02:00:00.000Z');
  assert.deepEqual(second.newData.batches, ['2025-01-04']);
  assert.equal(second.rejectedFiles?.length, 1, 'still reported');
});
