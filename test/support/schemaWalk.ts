import type { z } from 'zod';

/**
 * Walks a zod schema beside a parsed value and proposes, for every field at every depth, other
 * values the schema accepts: the property tests of content addresses change each field in turn
 * and look at the address. Read from the schemas themselves, so a field added later is walked
 * without anyone listing it. Candidates may be invalid for cross-field rules (regexes, bounds
 * of a union member); the caller parses each mutated spec and keeps the ones that parse.
 */
export interface Variant {
  path: (string | number)[];
  value: unknown;
}

type Any = z.ZodType;
// zod 4 keeps a schema's definition under _zod.def; its `type` says what kind of node it is.
interface Def {
  type: string;
  innerType?: Any;
  shape?: Record<string, Any>;
  options?: Any[];
  discriminator?: string;
  element?: Any;
  entries?: Record<string, string | number>;
  values?: unknown[];
}
const defOf = (s: Any) => (s as unknown as { _zod: { def: Def } })._zod.def;

function numberCandidates(s: Any, v: number | undefined): number[] {
  const n = s as unknown as { minValue: number | null; maxValue: number | null; isInt: boolean };
  const c = [1, 2, 3, 0.5, 0.25, 7, 100, 0];
  if (v !== undefined) c.unshift(v + 1, v - 1, v * 2, v / 2);
  if (n.minValue !== null && Number.isFinite(n.minValue)) c.push(n.minValue, n.minValue + 1);
  if (n.maxValue !== null && Number.isFinite(n.maxValue)) c.push(n.maxValue, n.maxValue - 1);
  return [...new Set(c)].filter((x) => x !== v && (!n.isInt || Number.isInteger(x)));
}

/** A few values a schema node accepts (or may: bounds across fields are the caller's to check). */
export function samples(s: Any): unknown[] {
  const d = defOf(s);
  switch (d.type) {
    case 'default':
      return [s.parse(undefined), ...samples(d.innerType as Any)];
    case 'optional':
      return samples(d.innerType as Any);
    case 'number':
      return numberCandidates(s, undefined);
    case 'string':
      return ['a', 'b1', 'other-value'];
    case 'boolean':
      return [false, true];
    case 'enum':
      return Object.values(d.entries ?? {});
    case 'literal':
      return [...(d.values ?? [])];
    case 'union':
      return (d.options ?? []).flatMap((o) => samples(o));
    case 'array':
      return samples(d.element as Any).map((x) => [x]);
    case 'object': {
      // One object per sample of each field in turn, others at their first sample.
      const shape = d.shape ?? {};
      const first = Object.fromEntries(
        Object.entries(shape).map(([k, f]) => [
          k,
          defOf(f).type === 'optional' ? undefined : samples(f)[0],
        ]),
      );
      return [first];
    }
    default:
      throw new Error(
        `schemaWalk: no samples for zod type "${d.type}"; teach test/support/schemaWalk.ts`,
      );
  }
}

/** Every (path, other value) the schema allows, for `value` as parsed by `s`. */
export function variants(s: Any, value: unknown, path: (string | number)[] = []): Variant[] {
  const d = defOf(s);
  const out: Variant[] = [];
  const others = (xs: unknown[]) => {
    for (const x of xs)
      if (JSON.stringify(x) !== JSON.stringify(value)) out.push({ path, value: x });
  };
  switch (d.type) {
    case 'default':
      return variants(d.innerType as Any, value, path);
    case 'optional':
      if (value === undefined) {
        others(samples(d.innerType as Any));
        return out;
      }
      out.push({ path, value: undefined });
      return [...out, ...variants(d.innerType as Any, value, path)];
    case 'number':
      others(numberCandidates(s, value as number));
      return out;
    case 'string':
      others([`${value}x`, `${value}-2`, 'a', 'other-value']);
      return out;
    case 'boolean':
      others([!value]);
      return out;
    case 'enum':
      others(Object.values(d.entries ?? {}));
      return out;
    case 'literal':
      return out;
    case 'union': {
      // Another member altogether, or a change inside the member the value is.
      others((d.options ?? []).flatMap((o) => samples(o)));
      const own = (d.options ?? []).find((o) => o.safeParse(value).success);
      return own ? [...out, ...variants(own, value, path)] : out;
    }
    case 'array': {
      const a = value as unknown[];
      others([[...a, ...samples(d.element as Any).slice(0, 1)], a.slice(1)]);
      a.forEach((x, i) => {
        out.push(...variants(d.element as Any, x, [...path, i]));
      });
      return out;
    }
    case 'object': {
      const o = (value ?? {}) as Record<string, unknown>;
      for (const [k, f] of Object.entries(d.shape ?? {}))
        out.push(...variants(f, o[k], [...path, k]));
      return out;
    }
    default:
      throw new Error(
        `schemaWalk: no variants for zod type "${d.type}"; teach test/support/schemaWalk.ts`,
      );
  }
}

/** The top-level fields of an object schema. */
export function fieldsOf(s: Any): string[] {
  return Object.keys(defOf(s).shape ?? {});
}

/** A deep copy of `base` with the value at `path` replaced (or removed, for undefined). */
export function withValue(base: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(base) ? [...base] : { ...(base as object) }) as Record<
    string | number,
    unknown
  >;
  const next = withValue((base as Record<string | number, unknown>)[head], rest, value);
  if (next === undefined && !Array.isArray(copy)) delete copy[head];
  else copy[head] = next;
  return copy;
}
