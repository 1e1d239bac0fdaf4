import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sklearnDataDir } from '../../../lib/data/importCsv';
import { readAllParts, readPartitionedInfo } from '../../../lib/data/partitionedDataset';
import { FsStore } from '../../../lib/store/fsStore';

const TDA = fileURLToPath(new URL('../../../bin/tda', import.meta.url));
const run = (...args: string[]) => spawnSync(TDA, args, { encoding: 'utf8', timeout: 120_000 });

test('tda import FILE: your own CSV with --label/--id, a query set --like it, bad input exit 1 naming file, row and column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-import-cli-'));
  const store = join(dir, 'store');
  writeFileSync(
    join(dir, 'train.csv'),
    'sku,weight,colour,returned\nA1,1.5,red,no\nA2,2.5,blue,yes\nA3,3.5,red,no\n',
  );
  const r = run(
    'import',
    join(dir, 'train.csv'),
    '--out',
    'd/train',
    '--label',
    'returned',
    '--id',
    'sku',
    '--store',
    store,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /3 rows from 1 csv file \(tabular, shape \[3\], 2 classes\)/);
  assert.match(r.stdout, /colour: categorical, one-hot over 2 values/);
  writeFileSync(join(dir, 'q.csv'), 'returned,colour,weight,sku\nyes,green,2,Q1\n');
  const q = run(
    'import',
    join(dir, 'q.csv'),
    '--out',
    'd/q',
    '--like',
    'd/train',
    '--store',
    store,
  );
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, /colour: 1 values not among the saved categories/);
  // A numeric column (its values are numbers) with one word in row 12.
  const rows = Array.from({ length: 20 }, (_, i) => `B${i},${i === 11 ? 'heavy' : i / 2},red,no`);
  writeFileSync(join(dir, 'bad.csv'), ['sku,weight,colour,returned', ...rows].join('\n'));
  const bad = run(
    'import',
    join(dir, 'bad.csv'),
    '--out',
    'd/bad',
    '--label',
    'returned',
    '--store',
    store,
  );
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /bad\.csv row 12 column "weight": "heavy" is not a number/);
  const noLabel = run(
    'import',
    join(dir, 'bad.csv'),
    '--out',
    'd/bad',
    '--label',
    'target',
    '--store',
    store,
  );
  assert.equal(noLabel.status, 1);
  assert.match(noLabel.stderr, /bad\.csv: no column "target" \(named by --label\)/);
  assert.equal(existsSync(join(store, 'd', 'bad', 'MANIFEST.json')), false);
});

test('tda import csv --file still reads scikit-learn CSVs (the bundled importers keep working)', {
  skip: !existsSync(join(sklearnDataDir(), 'iris.csv')) && 'scikit-learn CSVs not installed',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-import-cli-'));
  const r = run(
    'import',
    'csv',
    '--file',
    join(sklearnDataDir(), 'iris.csv'),
    '--out',
    'iris',
    '--store',
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  const info = await readPartitionedInfo(new FsStore(dir), 'iris');
  assert.equal(info.rows, 150);
  assert.equal(info.encoding, undefined);
  assert.equal((await readAllParts(new FsStore(dir), 'iris')).shape[0], 4);
});
