import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Checkpoint } from '../../../lib/model/checkpoints';
import { notLearned } from '../../../lib/model/learned';

const cp = (step: number, loss: number, accuracy: number): Checkpoint => ({
  step,
  learningRate: 0.1,
  key: `step-${step}`,
  metrics: { train: { loss, accuracy, rows: 100 } },
});

test('a model near chance, or whose loss did not drop, has not learned', () => {
  // Ten classes: chance 0.1, so near chance is below 0.19.
  const nearChance = notLearned([cp(10, 2.3, 0.1), cp(20, 2.2, 0.15)], 10);
  assert.match(
    nearChance ?? '',
    /training accuracy 0\.150 at step 20 is near chance \(0\.100 for 10 classes\)/,
  );
  const stuck = notLearned([cp(10, 1.2, 0.5), cp(20, 1.25, 0.6)], 3);
  assert.match(stuck ?? '', /training loss 1\.250 at step 20 is not below 1\.200 at step 10/);
  assert.doesNotMatch(stuck ?? '', /near chance/);
});

test('a model that learned, or a manifest without metrics, raises nothing', () => {
  assert.equal(notLearned([cp(10, 1.5, 0.4), cp(20, 0.4, 0.9)], 10), null);
  assert.equal(notLearned([{ step: 1, learningRate: 1, key: 'a' }], 10), null);
  assert.equal(notLearned([cp(10, 0.3, 0.95)], 2), null);
});
