/**
 * Help text for spec files, rendered from the zod schema that parses them, so a field added to a
 * schema shows up in `--help` without anyone editing a usage string.
 */
import { z } from 'zod';

type Json = Record<string, unknown>;

/** A compact one-line rendering of a JSON schema: `a | b`, `{k1, k2, seed?}`, `integer 1..64`. */
function describe(s: Json): string {
  if ('const' in s) return String(s.const);
  if (Array.isArray(s.enum)) return s.enum.join(' | ');
  const alternatives = (s.oneOf ?? s.anyOf) as Json[] | undefined;
  if (alternatives) return alternatives.map(describe).join(' | ');
  if (s.type === 'object') {
    const props = (s.properties ?? {}) as Record<string, Json>;
    const required = new Set((s.required ?? []) as string[]);
    const fields = Object.entries(props).map(([k, v]) =>
      k === 'kind' ? `kind: ${describe(v)}` : required.has(k) ? k : `${k}?`,
    );
    return `{${fields.join(', ')}}`;
  }
  if (s.type === 'array') return `[${describe((s.items ?? {}) as Json)}, ...]`;
  if (s.type === 'integer' || s.type === 'number') {
    const lo = s.minimum ?? s.exclusiveMinimum;
    const hi = s.maximum;
    const range =
      lo !== undefined && hi !== undefined && Number(hi) < Number.MAX_SAFE_INTEGER
        ? ` ${lo}..${hi}`
        : lo !== undefined
          ? ` ≥ ${lo}`
          : '';
    return `${s.type}${range}`;
  }
  return String(s.type ?? 'value');
}

/** One line per top-level field: name, accepted values, default (or "required"). */
export function specFieldsHelp(schema: z.ZodType, indent = '  '): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  const width = Math.max(...Object.keys(props).map((k) => k.length));
  return Object.entries(props)
    .map(([name, s]) => {
      const tail =
        'default' in s
          ? ` (default ${JSON.stringify(s.default)})`
          : required.has(name)
            ? ' (required)'
            : '';
      return `${indent}${name.padEnd(width)}  ${describe(s)}${tail}`;
    })
    .join('\n');
}
