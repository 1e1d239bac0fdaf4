import { z } from 'zod';
import { zodIssues } from '../zodIssues';
import type { ProjectorSpec } from './types';

const storageDtype = z.enum(['float32', 'float16']);

/** A Kronecker projection's sides and seed (also the influence self-score's sketch's). */
export const kroneckerSidesSchema = z.object({
  k1: z.number().int().min(1).max(4096),
  k2: z.number().int().min(1).max(4096),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
});

/**
 * A projector spec and its limits, the one place they are checked: run specs and audits parse
 * with it (lib/pipeline/runSpec.ts), and featurize checks what it is given against it.
 */
export const projectorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none'), dtype: storageDtype.default('float32') }),
  z.object({
    kind: z.literal('kronecker'),
    ...kroneckerSidesSchema.shape,
    dtype: storageDtype.default('float16'),
    /** 'js': bit-identical on every backend; 'tf': the backend's matMul, about 3× faster. */
    engine: z.enum(['js', 'tf']).default('js'),
  }),
  z.object({
    kind: z.enum(['gaussian', 'rademacher']),
    k: z.number().int().min(1).max(65536),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    dtype: storageDtype.default('float16'),
    engine: z.enum(['js', 'tf']).default('js'),
  }),
]);

/** Throws naming each field of a projector spec that is outside projectorSchema's limits. */
export function checkProjector(spec: ProjectorSpec): void {
  const r = projectorSchema.safeParse(spec);
  if (!r.success) throw new Error(`invalid projector:\n${zodIssues(r.error, '(projector)')}`);
}
