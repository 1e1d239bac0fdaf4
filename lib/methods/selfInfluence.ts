/**
 * TracIn self-influence: Σ_c η_c ‖g_i(θ_c)‖². High values flag mislabeled or rare examples.
 * 'exact' uses the exact full-gradient squared norms (ExampleFeatures.sqNorm); 'projected' uses
 * the stored (possibly projected) vectors, for comparison with projected scores.
 */
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { featureSqNorms } from './factoredFeatures';
import { checkCheckpoints } from './validate';

export type SelfInfluenceVariant = 'exact' | 'projected';

export function selfInfluence(
  train: ExampleFeatures[],
  checkpoints: CheckpointInfo[],
  variant: SelfInfluenceVariant = 'exact',
): Float64Array {
  // The exact variant reads only the norms (checked below), not the features' values.
  checkCheckpoints(train, null, checkpoints, 'selfInfluence', { values: variant !== 'exact' });
  const n = train[0].grads.rows;
  const out = new Float64Array(n);
  checkpoints.forEach((cp, c) => {
    let sq: Float64Array;
    if (variant === 'exact') {
      sq = train[c].sqNorm;
      if (!sq || sq.length !== n) {
        throw new Error(`selfInfluence: checkpoint ${c} has no exact sqNorm of length ${n}`);
      }
    } else {
      sq = featureSqNorms(train[c].grads);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(sq[i])) throw new Error(`selfInfluence: non-finite sqNorm at row ${i}`);
      out[i] += cp.learningRate * sq[i];
    }
  });
  return out;
}
