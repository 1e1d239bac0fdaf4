import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OptionTable, optionsHelp, parserOptions } from '../../../cli/command';
import { evalCommand, gold } from '../../../cli/commands/gold';
import { COMMANDS } from '../../../cli/commands/index';
import { evalJobSchema } from '../../../lib/eval/evalJobSpec';
import { goldJobSchema } from '../../../lib/gold/goldJobSpec';

/** The option's own help line: `  --name[ ARG]` then its text on the line or the next. */
const optionLine = (name: string) => new RegExp(`^ +--${name}(?![\\w-])`, 'm');

test("every command's help lists every option its parser accepts, each on its own line", () => {
  assert.ok(COMMANDS.length >= 13, `${COMMANDS.length} commands`);
  for (const cmd of COMMANDS) {
    const tables: [string, OptionTable][] = [
      ['', cmd.options ?? {}],
      ...Object.entries(cmd.verbOptions ?? {}),
    ];
    if (cmd.rawArgs) assert.ok(cmd.verbOptions, `${cmd.name} parses its own arguments: no table`);
    for (const [verb, table] of tables) {
      for (const name of Object.keys(parserOptions(table))) {
        assert.match(cmd.usage, optionLine(name), `tda ${cmd.name} ${verb} --${name}`);
      }
    }
  }
});

test('optionsHelp: one line per option, long flags and continuation lines under the help column', () => {
  const help = optionsHelp({
    out: { type: 'string', arg: 'FILE', help: 'where it goes' },
    'dry-run': { type: 'boolean', help: 'do nothing\nand say so' },
    'a-very-long-option': { type: 'string', arg: 'WITH|CHOICES', help: 'below' },
  });
  assert.deepEqual(help.split('\n'), [
    '  --out FILE               where it goes',
    '  --dry-run                do nothing',
    '                           and say so',
    '  --a-very-long-option WITH|CHOICES',
    '                           below',
  ]);
  assert.deepEqual(parserOptions({ x: { type: 'string', multiple: true, arg: 'X', help: 'h' } }), {
    x: { type: 'string', multiple: true },
  });
});

test('the gold and eval help list every job field, from the schemas that parse job files', () => {
  for (const [cmd, schema] of [
    [gold, goldJobSchema],
    [evalCommand, evalJobSchema],
  ] as const) {
    for (const field of Object.keys(schema.shape)) {
      assert.match(cmd.usage, new RegExp(`^ {2}${field} +\\S`, 'm'), `${cmd.name}: ${field}`);
    }
  }
});
