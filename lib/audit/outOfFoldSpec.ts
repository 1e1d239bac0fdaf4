import { z } from 'zod';
import type { InfluenceSelfSettings } from '../methods/influence/influenceSelf';
import type { SelfScoreSpec } from '../pipeline/runSpec';

/**
 * An audit's out-of-fold option: train `folds` models, each on the rows outside its fold (a
 * seeded k-fold split of all the audit's rows, batches in order), and score every row only by the
 * model that never saw it, so no row is ranked by a model that has fitted its (possibly wrong)
 * label. The fold models are trained from scratch with the architecture and settings here.
 *
 * rankBy (what the audit ranks by; every other one is reported beside it):
 * - selfConfidence: 1 − p(given label) from the row's fold model (confident learning's ranking);
 * - selfConfidenceCheckpoints: the same averaged over the fold model's checkpoints, less swayed
 *   by a fold model that has begun to fit its own rows' flipped labels;
 * - selfInfluence: the fold model's influence self-score of the row summed over the fold's
 *   checkpoints, last layer, Σ_c η_c g_cᵀ(F_c+λI)⁻¹g_c, F_c from the fold's held-out rows (the
 *   audit's influence self-score's curvature and sketch: foldSelfInfluence);
 * - rankAverage: the mean of those two normalised rankings (lib/methods/rankAverage);
 * - rankAverageWithSelfScore: the mean of selfConfidenceCheckpoints' ranking and the audit's
 *   in-sample self-score's (the audited model's `selfScore`). The default: with the influence
 *   self-score over checkpoints on the last layer it found the most flipped labels in
 *   bench:mislabel (BENCHMARKS.md, "Against confident learning").
 */
export const OUT_OF_FOLD_RANKINGS = [
  'selfConfidence',
  'selfConfidenceCheckpoints',
  'selfInfluence',
  'rankAverage',
  'rankAverageWithSelfScore',
] as const;
export type OutOfFoldRanking = (typeof OUT_OF_FOLD_RANKINGS)[number];

const architectureSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mlp'), hidden: z.array(z.number().int().min(1)).max(8) }).strict(),
  z
    .object({
      kind: z.literal('cnn'),
      filters: z.number().int().min(1),
      dense: z.number().int().min(1),
    })
    .strict(),
  z.object({ kind: z.literal('text'), embedding: z.number().int().min(1) }).strict(),
]);

const optimizerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sgd') }).strict(),
  z
    .object({
      kind: z.literal('momentum'),
      momentum: z.number().min(0).lt(1),
      nesterov: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('adam'),
      beta1: z.number().min(0).lt(1).optional(),
      beta2: z.number().min(0).lt(1).optional(),
      epsilon: z.number().positive().optional(),
    })
    .strict(),
]);

export const outOfFoldSchema = z
  .object({
    folds: z.number().int().min(2).max(20).default(5),
    /** Seeds the k-fold split and the fold models' initial weights. */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    architecture: architectureSchema,
    epochs: z.number().int().min(1).max(10_000),
    /** Epochs between the fold models' checkpoints (each saved to the store; also resume points). */
    checkpointEvery: z.number().int().min(1).max(10_000).default(1),
    learningRate: z.number().positive().max(10),
    batchSize: z.number().int().min(1).max(65536).default(128),
    optimizer: optimizerSchema.default({ kind: 'momentum', momentum: 0.9 }),
    /** The fold influence self-score's damping, relative to the mean eigenvalue. */
    relativeDamping: z.number().positive().max(1e6).default(0.01),
    rankBy: z.enum(OUT_OF_FOLD_RANKINGS).default('rankAverageWithSelfScore'),
  })
  .strict();

export type OutOfFoldSpec = z.output<typeof outOfFoldSchema>;

/**
 * How a fold model's self-influence is computed: with the audit's influence self-score's
 * curvature and sketch (the Gram of the stored features when the audit's self-score is TracIn's),
 * at the out-of-fold option's damping. Part of the folds' address (planAudit.ts).
 */
export function foldSelfInfluence(
  selfScore: SelfScoreSpec,
  outOfFold: OutOfFoldSpec,
): InfluenceSelfSettings {
  const relativeDamping = outOfFold.relativeDamping;
  return selfScore.kind === 'influence'
    ? { curvature: selfScore.curvature, sketch: selfScore.sketch, relativeDamping }
    : { curvature: 'gram', relativeDamping };
}
