import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { importKeras } from '../../../../lib/model/keras/importKeras';
import { kerasLayers, mapKerasLayer } from '../../../../lib/model/keras/kerasLayers';

await tf.setBackend('cpu');

// Made by real Keras 3 (JAX backend) with make_fixtures.py beside them; see its header.
const FIXTURES = fileURLToPath(new URL('../../../fixtures/keras/', import.meta.url));
const fixture = (f: string) => new Uint8Array(readFileSync(`${FIXTURES}${f}`));
const json = (f: string) => JSON.parse(new TextDecoder().decode(fixture(f)));

for (const [name, dtype, types, file = `${name}.keras`] of [
  ['mlp_sequential', 'float32', ['Dense', 'Dropout']],
  [
    'churn_functional',
    'float32',
    ['BatchNormalization', 'Add', 'Dropout'],
    'churn_functional.step320.keras',
  ],
  [
    'residual_functional',
    'float32',
    ['BatchNormalization', 'Add', 'Dropout', 'LayerNormalization'],
  ],
  [
    'cnn',
    'float32',
    ['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling2D', 'Concatenate', 'Multiply'],
  ],
  ['text_conv1d', 'int32', ['Embedding', 'Conv1D', 'AveragePooling1D', 'Reshape']],
] as const) {
  test(`${name}.keras imports and predicts what Keras predicted (to 1e-5)`, async () => {
    const model = await importKeras(fixture(file), file);
    const classes = model.layers.map((l) => l.getClassName());
    for (const t of types) assert.ok(classes.includes(t), `${name} has a ${t}: ${classes}`);
    const x = tf.tensor(json(`${name}.inputs.json`), undefined, dtype);
    const want = tf.tensor(json(`${name}.outputs.json`));
    const got = model.predict(x) as tf.Tensor;
    assert.deepEqual(got.shape, want.shape);
    const err = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0];
    const spread = tf.sub(tf.max(want), tf.min(want)).dataSync()[0];
    // Outputs that barely vary would let a wrong weight mapping pass.
    assert.ok(spread > 0.01, `${name}: recorded outputs vary by only ${spread}`);
    assert.ok(err < 1e-5, `${name}: max |ours − Keras| = ${err}`);
  });
}

/** The residual fixture with its config.json edited (the weights file unchanged). */
function editedConfig(edit: (layers: Record<string, unknown>[]) => void): Uint8Array {
  const entries = unzipSync(fixture('residual_functional.keras'));
  const config = JSON.parse(new TextDecoder().decode(entries['config.json']));
  edit(config.config.layers);
  return zipSync({ ...entries, 'config.json': strToU8(JSON.stringify(config)) });
}

test('an unknown layer type fails naming the layer, its type and the file', async () => {
  const bytes = editedConfig((layers) => {
    layers[4].class_name = 'GRU';
  });
  await assert.rejects(
    importKeras(bytes, 'my.keras'),
    /layer 'relu' \(GRU\) in my\.keras: layer type GRU cannot be imported; supported: InputLayer, Dense/,
  );
});

test('weights that do not fit the topology fail naming the layer and the shapes', async () => {
  const bytes = editedConfig((layers) => {
    (layers[8].config as Record<string, unknown>).units = 4;
  });
  await assert.rejects(
    importKeras(bytes, 'my.keras'),
    /layer 'head' \(Dense\) in my\.keras: variable 0 \(head\/kernel\) has shape \[8,3\] in the file, \[8,4\] in the layer/,
  );
});

test('options tfjs-layers cannot honour are refused, naming the layer and the option', () => {
  const file = 'f.keras';
  assert.throws(
    () => mapKerasLayer('Conv1D', { filters: 2, kernel_size: [3], padding: 'causal' }, 'c', file),
    /layer 'c' \(Conv1D\) in f\.keras: padding="causal" is not supported/,
  );
  assert.throws(
    () => mapKerasLayer('Dense', { units: 2, activation: 'hard_sigmoid' }, 'd', file),
    /layer 'd' \(Dense\) in f\.keras: activation 'hard_sigmoid' is not supported/,
  );
  assert.throws(
    () =>
      mapKerasLayer(
        'Dense',
        { units: 2, dtype: { class_name: 'DTypePolicy', config: { name: 'mixed_float16' } } },
        'd',
        file,
      ),
    /dtype policy 'mixed_float16'/,
  );
  assert.throws(
    () => mapKerasLayer('LayerNormalization', { rms_scaling: true }, 'ln', file),
    /rms_scaling=true is not supported/,
  );
  // Every registry entry accepts a plain config of its own type.
  for (const type of Object.keys(kerasLayers)) {
    const cfg = type === 'InputLayer' ? { batch_shape: [null, 3] } : {};
    assert.equal(mapKerasLayer(type, cfg, 'x', file).config.name, 'x');
  }
});

test('a file that is no .keras archive fails naming the file', async () => {
  await assert.rejects(
    importKeras(strToU8('not a zip'), 'bad.keras'),
    /bad\.keras is not a readable zip/,
  );
  const noWeights = zipSync({ 'config.json': strToU8('{}') });
  await assert.rejects(importKeras(noWeights, 'w.keras'), /w\.keras holds no model\.weights\.h5/);
  const brokenH5 = zipSync({
    'config.json': unzipSync(fixture('mlp_sequential.keras'))['config.json'],
    'model.weights.h5': strToU8('garbage'),
  });
  await assert.rejects(
    importKeras(brokenH5, 'h.keras'),
    /h\.keras: model\.weights\.h5 is not a readable HDF5/,
  );
});
