import { z } from 'zod';
import { zodIssues } from '../zodIssues';

/** An evaluation job (the `tda eval` job file, the evaluate workflow's input). */
export const evalJobSchema = z
  .object({
    /** A committed gold standard (the goldPrefix a furtherTraining workflow returned). */
    goldPrefix: z.string().min(1),
    /** Each method's dense scores, queries × the gold standard's examples (lib/eval/scoreFile). */
    methods: z
      .array(z.object({ name: z.string().min(1), key: z.string().min(1) }).strict())
      .min(1, 'evaluate needs at least one method'),
    outputPrefix: z.string().min(1),
    /** Bootstrap resamples (default 1000; 0 = no interval). */
    resamples: z.number().int().min(0).optional(),
    /** Seed of the resampling (default 0). */
    seed: z.number().int().min(0).optional(),
    /** Coverage of the percentile interval (default 0.95). */
    confidence: z.number().gt(0).lt(1).optional(),
  })
  .strict();

export type EvalJobInput = z.input<typeof evalJobSchema>;
export type EvalJobSpec = z.output<typeof evalJobSchema>;

export function parseEvalJob(input: unknown): EvalJobSpec {
  const r = evalJobSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid eval job:\n${zodIssues(r.error, '(job)')}`);
  return r.data;
}
