import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasFiniteRows, validateDataset } from '../../../lib/data/dataset';
import { featurizeDataset } from '../../../lib/pipeline/featurizeDataset';
import { initBackend } from '../../../lib/tf/backend';
import { tanhMlp } from '../../support/mislabelFixture';
import { blobs } from '../../support/tinyRun';

const spec = { projector: { kind: 'none' as const }, batchSize: 8 };

test('the engine skips its input check only for rows validateDataset found finite', async () => {
  await initBackend('cpu');
  const model = tanhMlp(4, 5, [1, 2]);
  // Not validated: the engine checks each batch itself and names the problem.
  const raw = blobs('raw', 20, 4, 3);
  assert.equal(hasFiniteRows(raw), false);
  const bad = { ...raw, x: Float32Array.from(raw.x as Float32Array) };
  (bad.x as Float32Array)[13 * 4 + 2] = Number.NaN;
  assert.throws(() => featurizeDataset(model, bad, 0, 20, spec), /inputs contain NaN/);
  // validateDataset names the row and feature, and never marks the rows finite.
  assert.throws(() => validateDataset(bad), /feature 2 of row 13 is NaN/);
  assert.equal(hasFiniteRows(bad), false);
  // Validated rows: the same features, bit for bit, without the check.
  const checked = validateDataset({ ...raw, x: Float32Array.from(raw.x as Float32Array) });
  assert.equal(hasFiniteRows(checked), true);
  const a = featurizeDataset(model, raw, 0, 20, spec);
  const b = featurizeDataset(model, checked, 0, 20, spec);
  assert.deepEqual(b.grads.data, a.grads.data);
  assert.deepEqual(b.sqNorm, a.sqNorm);
});
