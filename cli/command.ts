import { type ParseArgsConfig, parseArgs } from 'node:util';

/** One option of a command: what the parser needs, and its lines of help. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** The value's name in the help, e.g. FILE in `--spec FILE` (string options). */
  arg?: string;
  /** What it does; each further line (after a newline) continues under the first. */
  help: string;
}

/** A command's options: the parser's table and the source of its help text (optionsHelp). */
export type OptionTable = Record<string, OptionSpec>;

/** `--store URI`, the same in every command that reads or writes the store. */
export const storeOption: OptionSpec = {
  type: 'string',
  arg: 'URI',
  help: 's3://bucket/prefix, file:///dir or a local path (default: the bucket)',
};

/** Where the help column starts, as in the hand-written texts before it. */
const HELP_COLUMN = 27;

/**
 * The help lines of an option table: `  --name ARG   help`, one option after another (`indent`:
 * spaces before each flag, e.g. deeper under a verb).
 */
export function optionsHelp(table: OptionTable, indent = 2): string {
  const pad = ' '.repeat(HELP_COLUMN);
  return Object.entries(table)
    .map(([name, o]) => {
      const flag = `${' '.repeat(indent)}--${name}${o.arg ? ` ${o.arg}` : ''}`;
      const [first, ...more] = o.help.split('\n');
      const lead = flag.length + 2 <= HELP_COLUMN ? flag.padEnd(HELP_COLUMN) : `${flag}\n${pad}`;
      return [lead + first, ...more.map((l) => pad + l)].join('\n');
    })
    .join('\n');
}

/** The table as node:util parseArgs takes it. */
export function parserOptions(table: OptionTable = {}): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(table).map(([name, { type, multiple }]) => [
      name,
      multiple ? { type, multiple } : { type },
    ]),
  );
}

/** One `tda` subcommand: its help text, its options and what it does. */
export interface Command {
  name: string;
  summary: string;
  /** The help: built with optionsHelp from the same table the parser reads. */
  usage: string;
  options?: OptionTable;
  /**
   * The command parses its own arguments (they arrive untouched as positionals) with these
   * tables, one per verb (or one for all), each rendered in its usage.
   */
  rawArgs?: boolean;
  verbOptions?: Record<string, OptionTable>;
  run(args: {
    values: Record<string, string | boolean | undefined>;
    positionals: string[];
  }): Promise<void>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses argv for a command; `--help` prints its usage. Unknown options are errors. */
export async function runCommand(cmd: Command, argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(cmd.usage);
    return;
  }
  if (cmd.rawArgs) return cmd.run({ values: {}, positionals: argv });
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: parserOptions(cmd.options),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${cmd.usage}`);
  }
  await cmd.run(parsed as never);
}

export function requireString(
  values: Record<string, string | boolean | undefined>,
  name: string,
  usage: string,
): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required\n\n${usage}`);
  return v;
}

export function numberOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
  fallback: number,
): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}
