import { z } from 'zod';
import { InputError } from '../failures';
import {
  DEFAULT_PROJECTOR,
  DEFAULT_SELF_SCORE,
  layerSelectionSchema,
  projectorSchema,
  selfScoreSchema,
} from '../pipeline/runSpec';
import { zodIssues } from '../zodIssues';
import { outOfFoldSchema } from './outOfFoldSpec';

/**
 * What one audit of a growing training set is: the data prefix under which batches arrive (each
 * `<data>/<batch>/` a partitioned data set, written once and never changed), the model to audit
 * (a checkpoint manifest, which may be replaced as the model is retrained) and the featurize
 * settings. The same input is passed by a schedule night after night.
 */
export const auditInputSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, at most 63'),
    /** Store prefix holding one partitioned data set per batch: `<data>/<batch>/MANIFEST.json`. */
    data: z.string().min(1),
    /** Store key of the checkpoint manifest (the current model). */
    checkpoints: z.string().min(1),
    projector: projectorSchema.default(DEFAULT_PROJECTOR),
    layers: layerSelectionSchema.default('all'),
    /** The self-score examples are ranked by (see RunSpec.selfScore). */
    selfScore: selfScoreSchema.default(DEFAULT_SELF_SCORE),
    /** Length of the suspicious list the audits compare. */
    topK: z.number().int().min(1).max(10_000).default(100),
    /** Rows per shard; keep it equal to the attribution runs' to share their features. */
    shardSize: z.number().int().min(1).max(1_000_000).default(10_000),
    batchSize: z.number().int().min(1).max(65536).default(256),
    /**
     * Partials per reduce step of the influence self-score's curvature (lib/reduce/reduceTree.ts):
     * with more parts (shards of all batches) than this, it sets the order of the float sums.
     */
    reduceGroup: z.number().int().min(2).max(1000).default(32),
    /** Rank by out-of-fold scores of fold models trained for the audit (lib/audit/outOfFoldSpec). */
    outOfFold: outOfFoldSchema.optional(),
    /**
     * Raw files landing under a store prefix (Parquet, CSV/TSV, JSON Lines, Arrow), one batch
     * each: before planning, every file not imported yet becomes `<data>/<file name>/` by the
     * saved encoding of the data set `like` (made by `tda import`). A file that does not match
     * it is rejected once, recorded under `<data>/_rejected/` and listed in every report.
     */
    raw: z
      .object({ prefix: z.string().min(1), like: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

export type AuditInput = z.input<typeof auditInputSchema>;
export type AuditSpec = z.output<typeof auditInputSchema>;

/** Bad audit input: no retry can fix it. */
export class AuditInputError extends InputError {}

export function parseAuditInput(input: unknown): AuditSpec {
  const r = auditInputSchema.safeParse(input);
  if (!r.success) {
    throw new AuditInputError(`invalid audit input:\n${zodIssues(r.error)}`);
  }
  return r.data;
}

/** Where audits of `name` live; each audit under a sortable UTC stamp. */
export function auditRoot(name: string): string {
  return `audits/${name}`;
}

/** `2025-06-01T02:00:00.123Z` → `20250601T020000123Z`: sortable, no ':' in keys. */
export function auditStamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new AuditInputError(`audit time "${iso}" is not a date`);
  return d.toISOString().replace(/[-:.]/g, '');
}

export function auditPrefix(name: string, stamp: string): string {
  return `${auditRoot(name)}/${stamp}`;
}
