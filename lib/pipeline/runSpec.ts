/**
 * A run specification: what the `attribute` workflow computes. Validated before anything runs; a
 * bad spec fails at once with messages that name the field.
 */
import { z } from 'zod';
import { projectorSchema } from '../grad/projectorSpec';
import type { MethodName } from '../methods';
import { kroneckerSketchSchema } from '../methods/influence/kroneckerSketch';
import { zodIssues } from '../zodIssues';

export { projectorSchema };

export const layerSelectionSchema = z.union([
  z.enum(['all', 'last', 'adapters']),
  z.object({ names: z.array(z.string().min(1)).min(1) }),
]);

/**
 * The per-example self-score behind the mislabel ranking. 'tracin': Σ_c η_c ‖g_i(θ_c)‖² (exact
 * norms), computed while scoring. 'influence': Σ_c η_c g_iᵀ(F_c + λ_c I)⁻¹g_i over the stored
 * features of the chosen layers (default the last, where it ranks best in bench:mislabel and k is
 * small), λ_c = relativeDamping × the mean eigenvalue of F_c: its curvature partials are summed
 * from the score steps, factored once, then a second pass scores each shard (curvatureReduce.ts).
 */
export const selfScoreSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tracin') }).strict(),
  z
    .object({
      kind: z.literal('influence'),
      layers: z
        .union([z.enum(['all', 'last']), z.object({ names: z.array(z.string().min(1)).min(1) })])
        .default('last'),
      relativeDamping: z.number().positive().max(1e6).default(0.01),
      /**
       * 'gram': the k×k Gram matrix of the stored vectors (factored layers expanded: k = in·out);
       * 'kfac': per layer E[δδᵀ] ⊗ E[aaᵀ] from stored factors (in² + out² numbers), for exact
       * features, where the Gram of a 129 → 10 layer is 1290² and costs 200 GFLOP at 60,000.
       */
      curvature: z.enum(['gram', 'kfac']).default('gram'),
      /**
       * Sketch the stored factors of the self-score's layers (P_in a, P_out δ, seeded as the
       * Kronecker projector's) before the curvature and the vectors it scores: with exact
       * features, the Gram of a sketch instead of the (in·out)² one (kroneckerSketch.ts).
       */
      sketch: kroneckerSketchSchema.optional(),
    })
    .strict(),
]);
export type SelfScoreSpec = z.output<typeof selfScoreSchema>;
export type SelfScoreInput = z.input<typeof selfScoreSchema>;
/** Also what plans written before selfScore existed mean. */
export const DEFAULT_SELF_SCORE: SelfScoreSpec = { kind: 'tracin' };

/** The self-score in words, for reports and summaries. */
export function selfScoreName(self: SelfScoreSpec): string {
  if (self.kind === 'tracin') return 'TracIn-CP self-influence (exact gradient norms)';
  const layers =
    typeof self.layers === 'string'
      ? `${self.layers} layer${self.layers === 'all' ? 's' : ''}`
      : self.layers.names.join(', ');
  const sketch = self.sketch ? `, Kronecker sketch ${self.sketch.k1}×${self.sketch.k2}` : '';
  const curvature = `${self.curvature === 'kfac' ? ', K-FAC curvature' : ''}${sketch}`;
  return `influence self-influence over checkpoints (${layers}${curvature}, damping ${self.relativeDamping} × mean eigenvalue)`;
}

export const testFunctionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('loss') }),
  z.object({
    kind: z.enum(['logit', 'probability']),
    classIndex: z.number().int().min(0).optional(),
  }),
  z.object({ kind: z.literal('prediction') }),
]);

/** Kronecker 32×32 per layer in float16, bit-identical on every backend. */
export const DEFAULT_PROJECTOR = {
  kind: 'kronecker',
  k1: 32,
  k2: 32,
  seed: 0,
  dtype: 'float16',
  engine: 'js',
} as const;

/** Methods the distributed pipeline scores with (each a pure function in lib/methods). */
export const PIPELINE_METHODS = [
  'tracin',
  'gradDot',
  'gradCos',
] as const satisfies readonly MethodName[];
export type PipelineMethod = (typeof PIPELINE_METHODS)[number];

export const runSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, at most 63'),
    /** Store key of the checkpoint manifest (lib/model/checkpoints.ts). */
    checkpoints: z.string().min(1),
    /** Store prefix of the partitioned training set (lib/data/partitionedDataset.ts). */
    train: z.string().min(1),
    /** Store prefix of the partitioned query set. */
    query: z.string().min(1),
    /** Use only the first N query rows. */
    queryLimit: z.number().int().min(1).optional(),
    method: z.enum(PIPELINE_METHODS).default('tracin'),
    /** The self-score every training example is ranked by (the mislabel audit). */
    selfScore: selfScoreSchema.default(DEFAULT_SELF_SCORE),
    /** Final-model-only: use just the last checkpoint, with learning rate 1. */
    finalModelOnly: z.boolean().default(false),
    projector: projectorSchema.default(DEFAULT_PROJECTOR),
    layers: layerSelectionSchema.default('all'),
    testFunction: testFunctionSchema.default({ kind: 'loss' }),
    topK: z.number().int().min(1).max(10_000).default(100),
    /** Training rows per shard (a shard never crosses a part of the data set). */
    shardSize: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Query rows per query shard. */
    queryBlock: z.number().int().min(1).max(100_000).default(1000),
    /** Featurize / score activities in flight at once. */
    window: z.number().int().min(1).max(500).default(16),
    /** Shards handled per child workflow, which bounds every history. */
    shardsPerChild: z.number().int().min(1).max(1000).default(100),
    batchSize: z.number().int().min(1).max(65536).default(256),
    /**
     * Partials per reduce step (lib/reduce/reduceTree.ts): no step reads more. Part of the
     * address, not a scheduling field: with more shards than this, it sets the order of the
     * curvature's float sums.
     */
    reduceGroup: z.number().int().min(2).max(1000).default(32),
  })
  .strict();

export type RunSpecInput = z.input<typeof runSpecSchema>;
export type RunSpec = z.output<typeof runSpecSchema>;

export class SpecError extends Error {
  override name = 'SpecError';
}

/** Parses a spec; throws a SpecError listing each bad field as `path: problem`. */
export function parseRunSpec(input: unknown): RunSpec {
  const r = runSpecSchema.safeParse(input);
  if (!r.success) {
    throw new SpecError(`invalid run spec:\n${zodIssues(r.error, '(spec)')}`);
  }
  return r.data;
}
