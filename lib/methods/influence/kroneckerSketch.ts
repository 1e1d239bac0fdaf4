/**
 * A Kronecker sketch of stored factors, for the curvature behind the influence self-score: each
 * factored layer's inputs a and output gradients δ are projected by the Kronecker projector's
 * seeded P_in and P_out (lib/grad/kroneckerFactor.ts), so the sketched features are the features
 * the projector {kind: kronecker, k1, k2, seed, dtype: float32, engine: tf} would have stored
 * from the same factors (features stored by a Kronecker projector are projected a second time).
 * The backend's matMul, not the bit-identical js engine: 10–26 ms against 130–146 ms for 10,000
 * rows of 129 → 32 (BENCHMARKS.md), and the Gram after it is the backend's products anyway, so
 * a self-score's last digits depend on the backend as they did without a sketch.
 *
 * Why: with exact features (projector none) the Gram of the main job's last layer, 129 → 10, is
 * 1290 × 1290 (200 GFLOP at 60,000 rows per checkpoint), and it ranks flipped labels no better
 * than the Gram of its 16 × 10 sketch, a sixty-fifth of the work (`npm run bench:main-self`;
 * BENCHMARKS.md, "npm start's attribution, exact"). The attribution's scores stay exact; only the
 * self-score's curvature and the vectors it scores are sketched.
 */
import type { z } from 'zod';
import type { ExampleFeatures } from '../../features';
import { kroneckerSidesSchema } from '../../grad/projectorSpec';
import { projectBlocks } from '../../grad/projectors';
import { storedFactorBlocks } from './kfac';

export const kroneckerSketchSchema = kroneckerSidesSchema.strict();
export type KroneckerSketch = z.output<typeof kroneckerSketchSchema>;

/** The features with every (factored) layer sketched; a layer stored as a vector is refused. */
export function sketchFeatures(f: ExampleFeatures, sketch: KroneckerSketch): ExampleFeatures {
  const blocks = storedFactorBlocks(f, 'selfScore.sketch');
  const { rows, dim, data, layers } = projectBlocks(blocks, {
    kind: 'kronecker',
    ...sketch,
    dtype: 'float32',
    engine: 'tf',
  });
  return { ...f, grads: { rows, dim, data, layers } };
}
