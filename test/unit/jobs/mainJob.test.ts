import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAuditInput } from '../../../lib/audit/auditSpec';
import { FASHION_MNIST_FLIPS, MISLABEL_FOLD_SEED } from '../../../lib/eval/recordedBaselines';
import { MAIN_JOB, mainJobAudit, mainJobSpec } from '../../../lib/jobs/mainJob';
import { parseRunSpec } from '../../../lib/pipeline/runSpec';

test("npm start's audit ranks by out-of-fold self-confidence over the fold checkpoints, on the attribution's features", () => {
  const audit = parseAuditInput(mainJobAudit());
  const run = parseRunSpec(mainJobSpec());
  // Out-of-fold models, ranked by their checkpoint-averaged self-confidence (not the in-sample
  // self-score, which is what an audit without folds ranks by: lib/jobs/mainJob says why).
  assert.ok(audit.outOfFold, 'the main job audit trains out-of-fold models');
  assert.equal(audit.outOfFold.rankBy, 'selfConfidenceCheckpoints');
  // The Gram of a 16 × 10 sketch of the last layer's exact factors (bench:main-self).
  assert.deepEqual(audit.selfScore, {
    kind: 'influence',
    layers: 'last',
    relativeDamping: 0.01,
    curvature: 'gram',
    sketch: { k1: 16, k2: 16, seed: 0 },
  });
  // Exact attribution: every Dense layer's factors, in float32.
  assert.deepEqual(run.projector, { kind: 'none', dtype: 'float32' });
  assert.deepEqual(audit.selfScore, run.selfScore);
  // Cleanlab's recorded figure was measured on these folds.
  assert.equal(audit.outOfFold.folds, 5);
  assert.equal(audit.outOfFold.seed, MISLABEL_FOLD_SEED);
  // The audit plans the same feature files as the attribution, so it computes none of its own.
  assert.equal(audit.checkpoints, run.checkpoints);
  // (an audit's batch plans take the default test function: lib/audit/planAudit)
  assert.deepEqual(audit.projector, run.projector);
  assert.deepEqual(audit.layers, run.layers);
  assert.equal(audit.shardSize, run.shardSize);
  assert.deepEqual(
    run.testFunction,
    parseRunSpec({ ...mainJobSpec(), testFunction: undefined }).testFunction,
  );
  // The data prefix holds the training set as its one batch.
  assert.equal(MAIN_JOB.train.slice(0, audit.data.length + 1), `${audit.data}/`);
  assert.ok(!MAIN_JOB.query.startsWith(`${audit.data}/`));
  // Cleanlab's recorded figure was measured on these flips.
  assert.match(MAIN_JOB.train, new RegExp(`seed${FASHION_MNIST_FLIPS.seed}$`));
});
