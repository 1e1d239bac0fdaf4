/**
 * Grad-Cos: s_i = cos(g_i, q) at the final model. Dividing by the norms stops high-norm
 * (often mislabeled) examples from being the top opponents of every query.
 */
import type { ExampleFeatures } from '../features';
import { emptyScores, type ScoreMatrix } from './blockProduct';
import { accumulateFeatureProduct, featureSqNorms } from './factoredFeatures';
import { checkFeatures, checkSameDim } from './validate';

export interface GradCosOptions {
  /**
   * 'vector' (default): norms of the stored vectors, so projected cosines stay in [-1, 1];
   * 'exact': the exact full-gradient norms recorded in ExampleFeatures.sqNorm.
   */
  norm?: 'vector' | 'exact';
}

/** Per-row norms used by Grad-Cos; zero norms stay zero (their scores are 0). */
export function cosineNorms(f: ExampleFeatures, norm: 'vector' | 'exact'): Float64Array {
  const sq = norm === 'exact' ? f.sqNorm : featureSqNorms(f.grads);
  if (!sq || sq.length !== f.grads.rows) {
    throw new Error('gradCos: exact norms requested but sqNorm is missing or has the wrong length');
  }
  const out = new Float64Array(sq.length);
  for (let i = 0; i < sq.length; i++) out[i] = Math.sqrt(sq[i]);
  return out;
}

export function gradCos(
  train: ExampleFeatures,
  query: ExampleFeatures,
  options: GradCosOptions = {},
): ScoreMatrix {
  checkFeatures(train, 'gradCos train');
  checkFeatures(query, 'gradCos query');
  checkSameDim(train.grads, query.grads, 'gradCos');
  const norm = options.norm ?? 'vector';
  const out = emptyScores(query.grads.rows, train.grads.rows);
  accumulateFeatureProduct(query.grads, train.grads, out.data);
  const tn = cosineNorms(train, norm);
  const qn = cosineNorms(query, norm);
  const n = train.grads.rows;
  for (let q = 0; q < qn.length; q++) {
    for (let i = 0; i < n; i++) {
      const den = qn[q] * tn[i];
      out.data[q * n + i] = den > 0 ? out.data[q * n + i] / den : 0;
    }
  }
  return out;
}
