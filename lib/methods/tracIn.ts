/**
 * TracIn-CP: s_i = Σ_c η_c g_i(θ_c) · q(θ_c), over checkpoints with the learning rate in force
 * over the interval each stands for. Positive = proponent. Works on any shard of the training set.
 */
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { emptyScores, type ScoreMatrix } from './blockProduct';
import { accumulateFeatureProduct } from './factoredFeatures';
import { checkCheckpoints } from './validate';

export function tracIn(
  train: ExampleFeatures[],
  query: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
): ScoreMatrix {
  checkCheckpoints(train, query, checkpoints, 'tracin');
  const out = emptyScores(query[0].grads.rows, train[0].grads.rows);
  checkpoints.forEach((cp, c) => {
    accumulateFeatureProduct(query[c].grads, train[c].grads, out.data, cp.learningRate);
  });
  return out;
}
