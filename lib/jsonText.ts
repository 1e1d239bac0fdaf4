import { z } from 'zod';
import { zodIssues } from './zodIssues';

/**
 * A string that holds JSON (an Arrow schema-metadata value, a command-line option), parsed and
 * then checked by `schema`: text that is not JSON is an issue of that field, like any other.
 */
export const jsonText = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `is not JSON: ${text.slice(0, 80)}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** `value` parsed by `schema`; a bad one throws `what:` and a line per field that is wrong. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what}:\n${zodIssues(r.error, '(value)')}`);
  return r.data;
}
