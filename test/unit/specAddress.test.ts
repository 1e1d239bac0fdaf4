import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { auditInputSchema } from '../../lib/audit/auditSpec';
import { auditAddressBody } from '../../lib/audit/planAudit';
import { evalJobSchema } from '../../lib/eval/evalJobSpec';
import { goldJobSchema } from '../../lib/gold/goldJobSpec';
import { featureSpecHash, runPrefixFor } from '../../lib/pipeline/keys';
import { runSpecSchema } from '../../lib/pipeline/runSpec';
import {
  canonical,
  firstDifference,
  type JobKind,
  SCHEDULING_FIELDS,
  specAddress,
} from '../../lib/specAddress';
import { fieldsOf, variants, withValue } from '../support/schemaWalk';

/**
 * The property behind "a cache is only as correct as its key": change any field of a job's spec,
 * at any depth, and its address changes, unless the field is on the job's explicit list of
 * scheduling-only fields. The fields come from the zod schemas, so one added later is covered.
 */
function checkEveryField(
  kind: JobKind,
  schema: z.ZodType,
  base: unknown,
  address: (spec: never) => string,
): void {
  const scheduling = new Set<string>(SCHEDULING_FIELDS[kind]);
  const changed = new Set<string>();
  const missed: string[] = [];
  // Each valid one-field change of the base, checked against the base; then each of those
  // changed specs as a base in turn, so fields inside another union member (an influence
  // self-score's damping, an Adam optimizer's beta1) are walked too.
  const mutate = (from: unknown) => {
    const out: { path: string; spec: unknown }[] = [];
    for (const v of variants(schema, from)) {
      const r = schema.safeParse(withValue(from, v.path, v.value));
      if (r.success && canonical(r.data) !== canonical(from)) {
        out.push({ path: v.path.join('.'), spec: r.data });
      }
    }
    return out;
  };
  const check = (from: unknown, label: string) => {
    const fromAddress = address(from as never);
    const next = mutate(from);
    for (const m of next) {
      const top = m.path.split('.')[0];
      changed.add(top);
      if (scheduling.has(top)) continue;
      if (address(m.spec as never) === fromAddress) missed.push(`${label}${m.path}`);
    }
    return next;
  };
  const parsedBase = schema.parse(base);
  for (const m of check(parsedBase, '')) check(m.spec, `(${m.path} changed) `);
  assert.deepEqual(
    [...new Set(missed)],
    [],
    `${kind}: changing these fields left the address unchanged`,
  );
  // Every field was actually changed at least once: none escapes the walk.
  const untouched = fieldsOf(schema).filter((f) => !changed.has(f));
  assert.deepEqual(untouched, [], `${kind}: the walk found no other valid value for these fields`);
  for (const f of scheduling) {
    assert.ok(
      fieldsOf(schema).includes(f),
      `${kind}: scheduling field "${f}" is not in the schema`,
    );
  }
}

const runInputs = {
  checkpoints: [
    { step: 10, learningRate: 0.1, hash: 'a'.repeat(64) },
    { step: 20, learningRate: 0.1, hash: 'b'.repeat(64) },
  ],
  train: { parts: [{ sha256: 'c'.repeat(64), rows: 300 }] },
  query: { parts: [{ sha256: 'd'.repeat(64), rows: 12 }] },
};

test('every field of a run spec is in its address or on the scheduling list', () => {
  checkEveryField(
    'run',
    runSpecSchema,
    { name: 'r', checkpoints: 'm/checkpoints.json', train: 'd/train', query: 'd/query' },
    (spec: z.output<typeof runSpecSchema>) =>
      runPrefixFor(spec, { ...runInputs, featureSpecHash: featureSpecHash(spec) }),
  );
});

test('every field of an audit spec is in its address or on the scheduling list', () => {
  checkEveryField(
    'audit',
    auditInputSchema,
    { name: 'a', data: 'incoming', checkpoints: 'm/checkpoints.json' },
    (spec: z.output<typeof auditInputSchema>) =>
      canonical(auditAddressBody(spec, runInputs.checkpoints, [])),
  );
});

test('every field of a gold job is in its address or on the scheduling list', () => {
  checkEveryField(
    'gold',
    goldJobSchema,
    {
      modelPrefix: 'm',
      trainKey: 'd/train',
      queryKey: 'd/query',
      outputPrefix: 'gold/x',
      training: { learningRate: 0.1, batchSize: 4 },
      steps: [10, 20],
      seeds: [0, 1],
    },
    (spec: z.output<typeof goldJobSchema>) => specAddress('gold', spec, { model: 'h' }),
  );
});

test('every field of an eval job is in its address or on the scheduling list', () => {
  checkEveryField(
    'eval',
    evalJobSchema,
    { goldPrefix: 'gold/x/gold', outputPrefix: 'eval/x', methods: [{ name: 'tracin', key: 'k' }] },
    (spec: z.output<typeof evalJobSchema>) => specAddress('eval', spec, { gold: 'h' }),
  );
});

test('firstDifference names the first differing path', () => {
  assert.equal(firstDifference({ a: 1, b: { c: 2 } }, { b: { c: 2 }, a: 1 }), null);
  assert.equal(firstDifference({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 } }), 'b.c');
  assert.equal(firstDifference({ a: 1 }, { a: 1, s: { kind: 'x' } }), 's');
});
