import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { warmUp } from '../../../lib/pipeline/warmUp';
import { useTestBackend } from '../../support/backend';

before(async () => {
  await useTestBackend();
});

const warmUpDirs = async () =>
  (await readdir(tmpdir())).filter((d) => d.startsWith('tda-warm-up-'));

test('the warm-up runs a whole attribution in process and leaves no tensor and no file', async () => {
  const dirs = await warmUpDirs();
  const tensors = tf.memory().numTensors;
  const { seconds, tensorsLeft } = await warmUp();
  assert.ok(seconds > 0);
  assert.equal(tensorsLeft, 0);
  assert.equal(tf.memory().numTensors, tensors);
  assert.deepEqual(await warmUpDirs(), dirs);
});
