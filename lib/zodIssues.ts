import type { z } from 'zod';

/** A schema's complaints as lines `  path: problem`, so every message names the field. */
export function zodIssues(error: z.ZodError, root = '(input)'): string {
  return error.issues.map((i) => `  ${i.path.join('.') || root}: ${i.message}`).join('\n');
}
