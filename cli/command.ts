import { type ParseArgsConfig, parseArgs } from 'node:util';

/** One `tda` subcommand: its help text, its options and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options?: ParseArgsConfig['options'];
  /** The command parses its own arguments: they arrive untouched as positionals. */
  rawArgs?: boolean;
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
      options: cmd.options ?? {},
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
