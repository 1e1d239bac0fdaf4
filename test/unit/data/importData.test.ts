import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import sharp from 'sharp';
import { importData } from '../../../lib/data/import/importData';
import { readAllParts, readPartitionedInfo } from '../../../lib/data/partitionedDataset';
import { MANIFEST } from '../../../lib/store/commit';
import { FsStore } from '../../../lib/store/fsStore';

/** A small table with a numeric, an integer, a categorical column, a string id and a label. */
const N = 57;
const COLORS = ['red', 'green', 'blue'];
const rowsOf = () =>
  Array.from({ length: N }, (_, i) => ({
    id: `cust-${1000 + i}`,
    age: 20 + ((i * 7) % 45),
    income: Math.round(1000 * Math.sin(i) * 100) / 100,
    color: COLORS[i % 3],
    label: i % 4 === 0 ? 'churn' : 'stay',
  }));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tda-import-test-'));
}

/** The encoding computed independently in float64: features age, income (standardised), color one-hot. */
function expected() {
  const rows = rowsOf();
  const stat = (k: 'age' | 'income') => {
    const v = rows.map((r) => r[k]);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, std };
  };
  const a = stat('age');
  const inc = stat('income');
  const cats = [...COLORS].sort();
  const x = rows.flatMap((r) => [
    (r.age - a.mean) / a.std,
    (r.income - inc.mean) / inc.std,
    ...cats.map((c) => (r.color === c ? 1 : 0)),
  ]);
  return { x, labels: rows.map((r) => (r.label === 'churn' ? 0 : 1)), keys: rows.map((r) => r.id) };
}

function csvText(sep = ','): string {
  const rows = rowsOf();
  return [
    ['id', 'age', 'income', 'color', 'label'].join(sep),
    ...rows.map((r) => [r.id, r.age, r.income, r.color, r.label].join(sep)),
  ].join('\n');
}

function arrowTable() {
  const rows = rowsOf();
  return tableFromArrays({
    id: rows.map((r) => r.id),
    age: Int32Array.from(rows.map((r) => r.age)),
    income: Float64Array.from(rows.map((r) => r.income)),
    color: rows.map((r) => r.color),
    label: rows.map((r) => r.label),
  });
}

function parquetBytes(rowGroup = 10): Uint8Array {
  const props = new WriterPropertiesBuilder().setMaxRowGroupSize(rowGroup).build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(arrowTable(), 'stream')), props);
}

async function checkImported(store: FsStore, prefix: string): Promise<void> {
  const ds = await readAllParts(store, prefix);
  const e = expected();
  assert.equal(ds.rows, N);
  assert.deepEqual(ds.shape, [5]);
  assert.deepEqual(ds.classes, ['churn', 'stay']);
  assert.deepEqual(Array.from(ds.labels), e.labels);
  assert.deepEqual(ds.keys, e.keys);
  assert.deepEqual(
    Array.from(ds.ids),
    Array.from({ length: N }, (_, i) => i),
  );
  for (let i = 0; i < e.x.length; i++) {
    assert.ok(Math.abs(ds.x![i] - e.x[i]) < 1e-5, `x[${i}] = ${ds.x![i]}, expected ${e.x[i]}`);
  }
}

const mapping = { label: 'label', id: 'id' };

test('CSV with a header and a categorical column: standardised numbers, one-hot categories, the user ids as keys', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'data.csv'), csvText());
  const store = new FsStore(join(dir, 'store'));
  const r = await importData(join(dir, 'data.csv'), store, 'ds', {
    ...mapping,
    rowsPerPart: 20,
    batchRows: 7,
  });
  assert.equal(r.format, 'csv');
  assert.equal(r.info.parts.length, 3);
  assert.deepEqual(
    r.encoding.features!.map((f) => [f.column, f.type]),
    [
      ['age', 'numeric'],
      ['income', 'numeric'],
      ['color', 'categorical'],
    ],
  );
  await checkImported(store, 'ds');
  // The encoding is committed with the data set.
  assert.deepEqual((await readPartitionedInfo(store, 'ds')).encoding, r.encoding);
});

test('TSV, gzipped CSV, JSON Lines, Parquet, Arrow IPC file and stream give the same data set', async () => {
  const dir = tmp();
  const rows = rowsOf();
  writeFileSync(join(dir, 'd.tsv'), csvText('\t'));
  writeFileSync(join(dir, 'd.csv.gz'), gzipSync(csvText()));
  writeFileSync(join(dir, 'd.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(join(dir, 'd.parquet'), parquetBytes());
  writeFileSync(join(dir, 'd.arrow'), tableToIPC(arrowTable(), 'file'));
  writeFileSync(join(dir, 'd.arrows'), tableToIPC(arrowTable(), 'stream'));
  const store = new FsStore(join(dir, 'store'));
  for (const [file, format] of [
    ['d.tsv', 'tsv'],
    ['d.csv.gz', 'csv'],
    ['d.jsonl', 'jsonl'],
    ['d.parquet', 'parquet'],
    ['d.arrow', 'arrow'],
    ['d.arrows', 'arrow'],
  ]) {
    const r = await importData(join(dir, file), store, file, { ...mapping, batchRows: 16 });
    assert.equal(r.format, format, file);
    await checkImported(store, file);
  }
});

test('a folder of Parquet files is one table; --features and --categorical choose and type columns', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'batches'));
  writeFileSync(join(dir, 'batches', 'part-0.parquet'), parquetBytes(8));
  writeFileSync(join(dir, 'batches', 'part-1.parquet'), parquetBytes(100));
  writeFileSync(join(dir, 'batches', '_SUCCESS'), '');
  const store = new FsStore(join(dir, 'store'));
  const r = await importData(join(dir, 'batches'), store, 'ds', {
    label: 'label',
    features: ['age'],
    categorical: ['age'],
    standardize: false,
  });
  assert.equal(r.files, 2); // _SUCCESS is skipped
  assert.equal(r.info.rows, 2 * N);
  const ages = [...new Set(rowsOf().map((x) => x.age))].sort((a, b) => a - b);
  assert.deepEqual(r.encoding.features, [
    { column: 'age', type: 'categorical', categories: ages.map(String) },
  ]);
  const ds = await readAllParts(store, 'ds');
  assert.equal(ds.keys, undefined);
  for (let i = 0; i < ds.rows; i++) {
    const row = Array.from(ds.x!.subarray(i * ages.length, (i + 1) * ages.length));
    assert.deepEqual(
      row,
      ages.map((a) => (a === rowsOf()[i % N].age ? 1 : 0)),
    );
  }
});

test('--like: a query set is encoded with the training set saved encoding; an unseen category is all zeros', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'train.csv'), csvText());
  writeFileSync(
    join(dir, 'query.csv'),
    'label,color,income,age,id,extra\nstay,purple,0,20,q1,9\nchurn,red,100,64,q2,9\n',
  );
  const store = new FsStore(join(dir, 'store'));
  const train = await importData(join(dir, 'train.csv'), store, 'train', mapping);
  const q = await importData(join(dir, 'query.csv'), store, 'query', {
    like: train.encoding,
  });
  assert.deepEqual(q.unseen, { color: 1 });
  const ds = await readAllParts(store, 'query');
  const [age, income] = train.encoding.features! as { mean: number; std: number }[];
  const want = [
    [(20 - age.mean) / age.std, (0 - income.mean) / income.std, 0, 0, 0],
    [(64 - age.mean) / age.std, (100 - income.mean) / income.std, 0, 0, 1],
  ].flat();
  for (const [i, w] of want.entries()) assert.ok(Math.abs(ds.x![i] - w) < 1e-5, `x[${i}]`);
  assert.deepEqual(Array.from(ds.labels), [1, 0]);
  assert.deepEqual(ds.keys, ['q1', 'q2']);
});

test('integer ids become the data set ids; a text column is tokenized as the text importer does', async () => {
  const dir = tmp();
  writeFileSync(
    join(dir, 'msgs.jsonl'),
    [
      { n: 70, body: 'Win money now', y: 1 },
      { n: 71, body: 'Lunch at noon?', y: 0 },
      { n: 72, body: 'money money', y: 1 },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const store = new FsStore(join(dir, 'store'));
  const r = await importData(join(dir, 'msgs.jsonl'), store, 'ds', {
    label: 'y',
    id: 'n',
    text: 'body',
    seqLen: 4,
    vocabSize: 10,
  });
  assert.equal(r.encoding.kind, 'text');
  const ds = await readAllParts(store, 'ds');
  assert.deepEqual(Array.from(ds.ids), [70, 71, 72]);
  assert.deepEqual(ds.classes, ['0', '1']);
  const vocab = r.encoding.text!.vocab;
  assert.deepEqual(vocab.slice(0, 3), ['<pad>', '<unk>', 'money']);
  const id = (w: string) => vocab.indexOf(w);
  assert.deepEqual(Array.from(ds.tokens!.subarray(0, 4)), [id('win'), id('money'), id('now'), 0]);
  assert.deepEqual(ds.text, ['Win money now', 'Lunch at noon?', 'money money']);
});

test('an image folder class_name/*.png: labels from folders, pixels decoded by sharp to [0, 1]', async () => {
  const dir = tmp();
  const pixels: Record<string, number[]> = {};
  for (const [cls, files] of [
    ['cat', ['a.png', 'b.png']],
    ['dog', ['c.png']],
  ] as const) {
    mkdirSync(join(dir, 'img', cls), { recursive: true });
    for (const [k, f] of files.entries()) {
      const raw = Buffer.from(
        Array.from({ length: 12 }, (_, i) => (i * 20 + k * 7 + cls.length) % 256),
      );
      pixels[`${cls}/${f}`] = Array.from(raw);
      await sharp(raw, { raw: { width: 4, height: 3, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(join(dir, 'img', cls, f));
    }
  }
  const store = new FsStore(join(dir, 'store'));
  const r = await importData(join(dir, 'img'), store, 'ds', {});
  assert.equal(r.format, 'images');
  const ds = await readAllParts(store, 'ds');
  assert.deepEqual(ds.shape, [3, 4, 1]);
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.deepEqual(Array.from(ds.labels), [0, 0, 1]);
  assert.deepEqual(ds.keys, ['cat/a.png', 'cat/b.png', 'dog/c.png']);
  ds.keys!.forEach((k, i) => {
    const got = Array.from(ds.x!.subarray(i * 12, (i + 1) * 12), (v) => Math.round(v * 255));
    assert.deepEqual(got, pixels[k]);
  });
});

/** Runs an import that must fail; checks the message and that nothing was committed or left. */
async function rejects(
  file: string,
  bytes: Uint8Array | string,
  opts: Parameters<typeof importData>[3],
  message: RegExp,
): Promise<void> {
  const dir = tmp();
  writeFileSync(join(dir, file), bytes);
  const store = new FsStore(join(dir, 'store'));
  await assert.rejects(
    importData(join(dir, file), store, 'ds', { rowsPerPart: 5, batchRows: 5, ...opts }),
    (e: Error) => {
      assert.equal(e.name, 'InputError');
      assert.match(e.message, message);
      assert.ok(e.message.includes(file), `"${e.message}" names the file`);
      return true;
    },
  );
  assert.equal(await store.exists(`ds/${MANIFEST}`), false);
  assert.deepEqual(await store.list('ds/'), []);
}

test('bad input: a missing label column fails naming file and column, nothing committed', async () => {
  await rejects('d.csv', csvText(), { label: 'target' }, /no column "target" \(named by --label\)/);
  await rejects('d.parquet', parquetBytes(), { label: 'target' }, /no column "target"/);
});

test('bad input: a non-numeric value in a numeric column names file, row and column', async () => {
  // Row 40 is past the first batches: parts were written before the value is met in pass 2 of a
  // --like import, and must be removed.
  const lines = csvText().split('\n');
  lines[40] = lines[40].replace(/^(cust-\d+),(\d+)/, '$1,forty');
  await rejects('d.csv', lines.join('\n'), mapping, /row 40 column "age": "forty" is not a number/);
  const dir = tmp();
  writeFileSync(join(dir, 'train.csv'), csvText());
  const train = await importData(join(dir, 'train.csv'), new FsStore(join(dir, 's')), 't', mapping);
  await rejects('later.csv', lines.join('\n'), { like: train.encoding }, /row 40 column "age"/);
});

test('bad input: empty files fail naming the file', async () => {
  await rejects('e.csv', '', mapping, /e\.csv is empty/);
  await rejects('h.csv', 'id,age,label\n', mapping, /h\.csv has a header but no data rows/);
  await rejects('e.jsonl', '\n', mapping, /e\.jsonl is empty/);
  await rejects('e.parquet', new Uint8Array(0), mapping, /e\.parquet is empty/);
  await rejects('e.arrow', new Uint8Array(0), mapping, /e\.arrow is empty/);
});

test('bad input: a truncated Parquet or Arrow file fails naming the file', async () => {
  const pq = parquetBytes();
  await rejects(
    't.parquet',
    pq.subarray(0, pq.length - 40),
    mapping,
    /t\.parquet is not a readable Parquet file/,
  );
  await rejects(
    'h.parquet',
    pq.subarray(0, 100),
    mapping,
    /h\.parquet is not a readable Parquet file/,
  );
  const ipc = tableToIPC(arrowTable(), 'file');
  await rejects('t.arrow', ipc.subarray(0, ipc.length - 100), mapping, /t\.arrow/);
});

test('bad input: a ragged CSV row and a label outside the saved classes are named by row', async () => {
  await rejects('r.csv', 'id,age,label\na,1,x\nb,2\n', mapping, /r\.csv: .*line 3/i);
  const dir = tmp();
  writeFileSync(join(dir, 'train.csv'), csvText());
  const train = await importData(join(dir, 'train.csv'), new FsStore(join(dir, 's')), 't', mapping);
  await rejects(
    'q.csv',
    'id,age,income,color,label\nq,1,2,red,maybe\n',
    { like: train.encoding },
    /q\.csv row 1 column "label": label "maybe" is not one of the data set's classes \(churn, stay\)/,
  );
  await rejects(
    'q2.csv',
    'id,age,color,label\nq,1,red,stay\n',
    { like: train.encoding },
    /q2\.csv does not match the data set's schema: it lacks column "income"/,
  );
});

test('column types: mostly numbers is numeric (a stray word is an error), mostly words is categorical; all-numeric reports what it leaves out', async () => {
  const dir = tmp();
  const lines = ['id,size,tier,note,y'];
  for (let i = 0; i < 30; i++)
    lines.push(`${i},${i % 7},${i % 3 === 0 ? 'gold' : i % 3},free text ${i},${i % 2}`);
  writeFileSync(join(dir, 't.csv'), lines.join('\n'));
  const store = new FsStore(join(dir, 'store'));
  const r = await importData(join(dir, 't.csv'), store, 'a', {
    label: 'y',
    id: 'id',
    features: 'all-numeric',
  });
  assert.deepEqual(
    r.encoding.features!.map((f) => f.column),
    ['size'],
  );
  assert.deepEqual(r.skipped, [
    { column: 'tier', type: 'string' },
    { column: 'note', type: 'string' },
  ]);
  // tier: 10 words in 30 values, so it is categorical ('0'..'2' and 'gold' are its categories).
  const all = await importData(join(dir, 't.csv'), store, 'b', {
    label: 'y',
    features: ['size', 'tier'],
  });
  assert.deepEqual(all.encoding.features![1], {
    column: 'tier',
    type: 'categorical',
    categories: ['1', '2', 'gold'],
  });
  // One word among 30 numbers: the column is numeric and the word is bad input.
  lines[17] = '16,big,1,x,0';
  writeFileSync(join(dir, 'u.csv'), lines.join('\n'));
  await assert.rejects(
    importData(join(dir, 'u.csv'), store, 'c', { label: 'y', features: ['size'] }),
    /u\.csv row 17 column "size": "big" is not a number/,
  );
  assert.equal(all.encoding.id, undefined);
  assert.deepEqual(r.encoding.id, { column: 'id', integer: true });
  assert.deepEqual(Array.from((await readAllParts(store, 'a')).ids.subarray(0, 3)), [0, 1, 2]);
});
