/**
 * Models written by real Keras 3 (test/fixtures/keras, imported by lib/model/keras): every
 * trainable layer of each, all selected, against naive per-example autodiff. Covers the
 * functional model with BatchNormalization, a residual Add and Dropout that `tda model add`
 * registers, a CNN with depthwise/separable convolutions, Concatenate and Multiply, and a text
 * model with Embedding, Conv1D and a sigmoid head.
 */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { importKeras } from '../../../lib/model/keras/importKeras';
import { useTestBackend } from '../../support/backend';
import { checkAgainstNaive } from './checkAgainstNaive';
import { randomLabels } from './naive';

await useTestBackend();

const FIXTURES = fileURLToPath(new URL('../../fixtures/keras/', import.meta.url));
const read = (f: string) => new Uint8Array(readFileSync(`${FIXTURES}${f}`));

for (const [name, dtype, classes] of [
  ['residual_functional', 'float32', 3],
  ['cnn', 'float32', 4],
  ['text_conv1d', 'int32', 2],
  ['mlp_sequential', 'float32', 3],
] as const) {
  test(`${name}.keras: every trainable layer against naive autodiff`, async () => {
    const model = await importKeras(read(`${name}.keras`), `${name}.keras`);
    const inputs = JSON.parse(new TextDecoder().decode(read(`${name}.inputs.json`)));
    const xs = tf.tensor(inputs, undefined, dtype);
    checkAgainstNaive(model, xs, randomLabels(xs.shape[0], classes, 501));
    xs.dispose();
  });
}
