import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  artifactsHash,
  canonicalJson,
  modelArtifacts,
  modelHash,
} from '../../../lib/model/modelHash';
import {
  loadModel,
  loadModelArtifacts,
  loadModelFromPath,
  saveModel,
  saveModelToPath,
} from '../../../lib/model/storeIO';
import { FsStore } from '../../../lib/store/fsStore';
import { NotFoundError } from '../../../lib/store/objectStore';

await tf.setBackend('cpu');

function smallModel(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
  );
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 8, activation: 'tanh' }));
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax' }));
  return m;
}

const input = tf.randomUniform([4, 6, 6, 1], -1, 1, 'float32', 7);
const predict = (m: tfl.LayersModel): Float32Array =>
  (m.predict(input) as tf.Tensor).dataSync() as Float32Array;

test('a LayersModel round-trips through an FsStore: identical predictions, stable hash', async () => {
  const store = new FsStore(mkdtempSync(join(tmpdir(), 'model-')));
  const model = smallModel();
  await saveModel(model, store, 'runs/r1/model');
  assert.deepEqual(await store.list('runs/r1/model/'), [
    'runs/r1/model/model.json',
    'runs/r1/model/weights.bin',
  ]);
  const loaded = await loadModel(store, 'runs/r1/model');
  assert.deepEqual(predict(loaded), predict(model));
  const h = await modelHash(model);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(await modelHash(loaded), h);
  assert.equal(artifactsHash(await loadModelArtifacts(store, 'runs/r1/model')), h);
  // Saved twice, the same bytes: the hash does not depend on where or when it was saved.
  await saveModel(loaded, store, 'copy');
  assert.equal(artifactsHash(await loadModelArtifacts(store, 'copy')), h);
});

test('the hash changes with any weight and not with key order', async () => {
  const model = smallModel();
  const h = await modelHash(model);
  const a = await modelArtifacts(model);
  const reordered = {
    ...a,
    modelTopology: JSON.parse(canonicalJson(a.modelTopology).replace(/^\{/, '{"zz_unused":null,')),
  };
  delete reordered.modelTopology.zz_unused;
  assert.equal(artifactsHash(reordered), h);
  const w = model.getWeights();
  const last = w[w.length - 1];
  const values = last.dataSync().slice();
  values[1] += 1e-3;
  const bumped = tf.tensor(values, last.shape);
  model.setWeights([...w.slice(0, -1), bumped]);
  assert.notEqual(await modelHash(model), h);
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
});

test('local paths: a folder or a model JSON file, and converter-style weight shards', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'model-'));
  const model = smallModel();
  await saveModelToPath(model, dir);
  assert.deepEqual(predict(await loadModelFromPath(dir)), predict(model));
  assert.deepEqual(predict(await loadModelFromPath(join(dir, 'model.json'))), predict(model));
  // Split the weights into two shards, as the tfjs converter does.
  const store = new FsStore(dir);
  const json = JSON.parse(new TextDecoder().decode(await store.get('model.json')));
  const bytes = await store.get('weights.bin');
  await store.put('shards/group1-shard1of2.bin', bytes.subarray(0, 100));
  await store.put('shards/group1-shard2of2.bin', bytes.subarray(100));
  json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
  await store.put('shards/converted.json', JSON.stringify(json));
  const sharded = await loadModelFromPath(join(dir, 'shards', 'converted.json'));
  assert.deepEqual(predict(sharded), predict(model));
  assert.equal(await modelHash(sharded), await modelHash(model));
});

test('bad model files give clear errors', async () => {
  const store = new FsStore(mkdtempSync(join(tmpdir(), 'model-')));
  await assert.rejects(loadModel(store, 'nothing'), NotFoundError);
  await saveModel(smallModel(), store, 'm');
  await store.put('m/weights.bin', new Uint8Array(12));
  await assert.rejects(
    loadModel(store, 'm'),
    /weight specs need \d+ bytes but the weight files hold 12/,
  );
  const json = JSON.parse(new TextDecoder().decode(await store.get('m/model.json')));
  json.weightsManifest[0].paths = ['../escape.bin'];
  await store.put('m/model.json', JSON.stringify(json));
  await assert.rejects(loadModel(store, 'm'), /only paths relative to model.json/);
  await store.put('m/model.json', '{"hello": 1}');
  await assert.rejects(loadModel(store, 'm'), /not a TensorFlow.js model.json/);
  await store.put('m/model.json', '{not json');
  await assert.rejects(loadModel(store, 'm'), /not valid JSON/);
});
