import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { attributeCommand } from '../../../cli/commands/attribute';
import { specFieldsHelp } from '../../../cli/specHelp';
import { runSpecSchema } from '../../../lib/pipeline/runSpec';

test('the attribute help lists every run spec field, from the schema that parses specs', () => {
  for (const field of Object.keys(runSpecSchema.shape)) {
    assert.match(attributeCommand.usage, new RegExp(`^  ${field} +\\S`, 'm'), field);
  }
});

test('specFieldsHelp renders choices, ranges, defaults and required fields', () => {
  const help = specFieldsHelp(
    z.object({
      name: z.string(),
      mode: z.enum(['fast', 'exact']).default('fast'),
      k: z.number().int().min(1).max(64).optional(),
      shape: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('box'), side: z.number() }),
        z.object({ kind: z.literal('ball'), radius: z.number().optional() }),
      ]),
    }),
  );
  assert.deepEqual(help.split('\n'), [
    '  name   string (required)',
    '  mode   fast | exact (default "fast")',
    '  k      integer 1..64',
    '  shape  {kind: box, side} | {kind: ball, radius?} (required)',
  ]);
});
