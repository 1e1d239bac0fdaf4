/** Grad-Dot: s_i = g_i(θ_f) · q(θ_f). Positive = proponent. */
import type { ExampleFeatures } from '../features';
import { emptyScores, type ScoreMatrix } from './blockProduct';
import { accumulateFeatureProduct } from './factoredFeatures';
import { checkFeatures, checkSameDim } from './validate';

export function gradDot(train: ExampleFeatures, query: ExampleFeatures): ScoreMatrix {
  checkFeatures(train, 'gradDot train');
  checkFeatures(query, 'gradDot query');
  checkSameDim(train.grads, query.grads, 'gradDot');
  const out = emptyScores(query.grads.rows, train.grads.rows);
  accumulateFeatureProduct(query.grads, train.grads, out.data);
  return out;
}
