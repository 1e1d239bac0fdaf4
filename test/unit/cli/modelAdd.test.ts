import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { saveModelToPath } from '../../../lib/model/storeIO';

await tf.setBackend('cpu');

const TDA = fileURLToPath(new URL('../../../bin/tda', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/keras/', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(TDA, args, {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TDA_BACKEND: 'cpu' },
  });

function mlp(seed: number): tfl.LayersModel {
  const m = tfl.sequential();
  const kernelInitializer = tfl.initializers.glorotUniform({ seed });
  m.add(
    tfl.layers.dense({
      inputShape: [6],
      units: 8,
      activation: 'relu',
      kernelInitializer,
      name: 'hidden',
    }),
  );
  m.add(tfl.layers.dense({ units: 3, kernelInitializer, name: 'logits' }));
  return m;
}

test('tda model add: TF.js checkpoints and a .keras file become a manifest; the layer table is printed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-model-add-'));
  await saveModelToPath(mlp(1), join(dir, 'user', 'epoch1'));
  await saveModelToPath(mlp(2), join(dir, 'user', 'epoch2'));
  const store = join(dir, 'store');
  const r = run(
    'model',
    'add',
    '--checkpoint',
    `${join(dir, 'user', 'epoch2')}:200:0.05`,
    '--checkpoint',
    `${join(dir, 'user', 'epoch1', 'model.json')}:100:0.1`,
    '--out',
    'models/mlp/checkpoints.json',
    '--store',
    store,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^layer +type +parameters +supported +selected$/m);
  assert.match(r.stdout, /^hidden +Dense +56 +yes +yes$/m);
  assert.match(r.stdout, /^logits +Dense +27 +yes +yes$/m);
  assert.match(r.stdout, /2 checkpoint\(s\) of model "mlp"/);
  const manifest = JSON.parse(readFileSync(join(store, 'models/mlp/checkpoints.json'), 'utf8'));
  assert.deepEqual(
    manifest.checkpoints.map((c: { step: number; learningRate: number }) => [
      c.step,
      c.learningRate,
    ]),
    [
      [100, 0.1],
      [200, 0.05],
    ],
  );

  copyFileSync(join(FIXTURES, 'mlp_sequential.keras'), join(dir, 'user', 'final.keras'));
  const k = run(
    'model',
    'add',
    '--model',
    join(dir, 'user', 'final.keras'),
    '--out',
    'models/keras/checkpoints.json',
    '--layers',
    'logits',
    '--store',
    store,
  );
  assert.equal(k.status, 0, k.stderr);
  assert.match(k.stdout, /^hidden +Dense +56 +yes$/m);
  assert.match(k.stdout, /^dropout +Dropout +0 +pass-through$/m);
  assert.match(k.stdout, /^logits +Dense +27 +yes +yes$/m);
  assert.ok(existsSync(join(store, 'models/keras/step-0/model.json')));
});

test('tda model add: bad input exits non-zero naming the problem, and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tda-model-add-'));
  const store = join(dir, 'store');
  const missing = run(
    'model',
    'add',
    '--model',
    join(dir, 'nope.keras'),
    '--out',
    'm/c.json',
    '--store',
    store,
  );
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no model file at file:\/\/.*\/nope\.keras/);
  const badArg = run('model', 'add', '--checkpoint', 'x:1', '--out', 'm/c.json');
  assert.equal(badArg.status, 2);
  assert.match(badArg.stderr, /--checkpoint "x:1": expected PATH:STEP:LR/);
  assert.ok(!existsSync(store));
});
