import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TDA = fileURLToPath(new URL('../../../bin/tda', import.meta.url));
const run = (...args: string[]) => spawnSync(TDA, args, { encoding: 'utf8', timeout: 60_000 });

test('tda --help lists every command, and each command has --help', () => {
  const top = run('--help');
  assert.equal(top.status, 0);
  const names = [...top.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
  assert.ok(names.length >= 8, top.stdout);
  for (const name of names) {
    const r = run(name, '--help');
    assert.equal(r.status, 0, `${name} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: tda ${name}`));
  }
});

test('usage errors exit 2 and name the problem', () => {
  const unknown = run('frobnicate');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const option = run('train', '--bogus');
  assert.equal(option.status, 2);
  assert.match(option.stderr, /Unknown option '--bogus'/);
  const missing = run('train', '--data', 'x');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--out is required/);
});

test('a bad run spec is rejected before anything runs, naming each field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-spec-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'name: Bad Name\ncheckpoints: x\ntrain: y\nquery: z\ntopK: 0\nmethod: magic\n',
  );
  const r = run('attribute', '--spec', bad);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.yaml: invalid run spec/);
  assert.match(r.stderr, /name: lowercase/);
  assert.match(r.stderr, /topK: Too small/);
  assert.match(r.stderr, /method: Invalid option/);
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"name": ');
  const b = run('attribute', '--spec', broken);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /broken\.json is not valid JSON/);
});

test('tda score runs a method in-process on a local store and ranks by the chosen self-score', async () => {
  const { FsStore } = await import('../../../lib/store/fsStore');
  const { initBackend } = await import('../../../lib/tf/backend');
  const { makeTinyRun } = await import('../../support/tinyRun');
  await initBackend('cpu', () => {});
  const dir = mkdtempSync(join(tmpdir(), 'tda-score-'));
  const spec = await makeTinyRun(new FsStore(dir), 'tiny', { trainRows: 60, queryRows: 3 });
  const args = ['--store', dir, '--checkpoints', spec.checkpoints, '--train', spec.train];
  const out = join(dir, 'out.json');
  const r = run(
    'score',
    ...args,
    '--query',
    spec.query,
    '--method',
    'gradDot',
    '--self',
    'influence',
    '--out',
    out,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /highest influence self-scores \(mislabel suspects\): \d+/);
  const json = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(json.selfScore, 'influence');
  assert.equal(json.selfInfluence.length, 60);
  const bad = run('score', ...args, '--query', spec.query, '--method', 'gradDot', '--self', 'loss');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown self-score "loss"/);
});
