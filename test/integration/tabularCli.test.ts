import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readColumn, readTable } from '../../lib/arrow/columns';
import { Rng } from '../../lib/data/rng';
import { checkpointPrefix, readCheckpointManifest } from '../../lib/model/checkpoints';
import type { RunSummary } from '../../lib/pipeline/types';
import { readManifest } from '../../lib/store/commit';
import { S3Store } from '../../lib/store/s3Store';
import { ensureStack } from '../support/stack';
import { tda, tdaAttribute } from '../support/tdaCli';

/**
 * The README's tabular path as a user runs it, through the real stack: `tda import csv` →
 * `tda train` (an MLP on rank-1 rows) → `tda attribute` through Temporal with a worker process
 * → `tda report`. Data the other tests never see: four features, three classes, a few flipped.
 */
const config = ensureStack();
const s3 = new S3Store(config.s3);
/** scikit-learn's CSV layout: `n,nfeatures,class names`, then features and the label last. */
function tabularCsv(rows: number, flipped: Set<number>): string {
  const rng = new Rng(7);
  const lines = [`${rows},4,low,mid,high`];
  for (let i = 0; i < rows; i++) {
    const c = i % 3;
    const x = [0, 1, 2, 3].map((j) => (j === c ? 2 : 0) + (j === 3 ? c : 0) + rng.next() - 0.5);
    const label = flipped.has(i) ? (c + 1) % 3 : c;
    lines.push([...x.map((v) => v.toFixed(4)), label].join(','));
  }
  return `${lines.join('\n')}\n`;
}

test('CSV import → train an MLP on tabular rows → attribute through Temporal → report, from the CLI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-tabular-'));
  const prefix = `it/${randomUUID()}`;
  const flipped = new Set([5, 40, 77, 120]);
  writeFileSync(join(dir, 'table.csv'), tabularCsv(150, flipped));

  const imported = await tda(
    'import',
    'csv',
    '--file',
    join(dir, 'table.csv'),
    '--out',
    `${prefix}/table`,
    '--rows-per-part',
    '64',
  );
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(
    imported.stdout,
    new RegExp(`150 rows .*→ s3://${config.s3.bucket}/${prefix}/table in 3 parts`),
  );

  const trained = await tda(
    'train',
    '--data',
    `${prefix}/table`,
    '--out',
    `${prefix}/model/checkpoints.json`,
    '--arch',
    'mlp:16',
    '--epochs',
    '3',
    '--batch',
    '16',
    '--lr',
    '0.05',
  );
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stdout, /3 checkpoints →/);
  // Each checkpoint's fit on the training rows, as the manifest records it.
  assert.equal(trained.stdout.match(/ {2}step \d+ .* train loss [\d.]+ acc [\d.]+/g)?.length, 3);

  const run = await tdaAttribute(dir, {
    name: 'tabular',
    checkpoints: `${prefix}/model/checkpoints.json`,
    train: `${prefix}/table`,
    query: `${prefix}/table`,
    queryLimit: 6,
    topK: 5,
    shardSize: 50,
  });
  const m = await readManifest<RunSummary>(s3, run);
  assert.ok(m, 'the run is committed');
  assert.equal(m.meta.trainRows, 150);
  assert.equal(m.meta.queryRows, 6);
  const examples = readTable(await s3.get(m.meta.files.examples));
  const self = readColumn<Float64Array>(examples, 'self_influence', 'float64').values;
  assert.equal(self.length, 150);
  assert.ok(self.every((v) => Number.isFinite(v) && v >= 0));

  const reported = await tda('report', run, '--out', join(dir, 'report.html'));
  assert.equal(reported.code, 0, reported.stderr);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /<html[\s\S]*<\/html>/);
  assert.match(html, /high|mid|low/);

  // The gold standard takes the same imported data set (a prefix, not one Arrow file).
  const manifest = await readCheckpointManifest(s3, `${prefix}/model/checkpoints.json`);
  const job = {
    modelPrefix: checkpointPrefix(`${prefix}/model/checkpoints.json`, manifest.checkpoints[2]),
    trainKey: `${prefix}/table`,
    queryKey: `${prefix}/table`,
    outputPrefix: `${prefix}/gold`,
    training: { learningRate: 0.05, batchSize: 16 },
    steps: [3],
    seeds: [1],
    examples: [0, 5],
  };
  writeFileSync(join(dir, 'gold.json'), JSON.stringify(job));
  const gold = await tda('gold', '--job', join(dir, 'gold.json'), '--workers', '1');
  assert.equal(gold.code, 0, gold.stderr);
  assert.match(gold.stdout, /"runs": 3/);
  assert.ok(await readManifest(s3, `${prefix}/gold/gold`), 'the gold standard is committed');

  // A bad job: the command ends with the root cause in one line, the failing activity and the
  // Temporal UI link, and no worker log or stack trace in its output.
  writeFileSync(
    join(dir, 'bad.json'),
    JSON.stringify({ ...job, queryKey: `${prefix}/nothing`, outputPrefix: `${prefix}/bad` }),
  );
  const bad = await tda('gold', '--job', join(dir, 'bad.json'), '--workers', '1');
  assert.equal(bad.code, 1);
  const lines = `${bad.stdout}${bad.stderr}`.split('\n').filter((l) => l.startsWith('tda: '));
  assert.equal(lines.length, 1, bad.stderr);
  assert.match(
    lines[0],
    /^tda: workflow gold-\S+ failed: InputError: query data ".*\/nothing": .*no object at key .*\(activity prepareGold\); see http:\/\/\S+\/workflows\/gold-\S+$/,
  );
  assert.doesNotMatch(`${bad.stdout}${bad.stderr}`, /WARN|^\s+at /m);
});
