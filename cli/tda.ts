import { setHeapGrowth } from '../lib/heapGrowth';
import { runCommand, UsageError } from './command';
import { COMMANDS } from './commands/index';

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(11)} ${c.summary}`);
  return `tda: training-data attribution on Temporal, TensorFlow.js, S3 and Arrow

Usage: tda <command> [options]      (tda <command> --help for its options)

Commands:
${lines.join('\n')}

Configuration comes from TDA_* environment variables (see README). Scores: positive = proponent
(training on the example lowers the query's loss), negative = opponent.`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  // Commands compute in this process (score, a one-process worker) on large typed arrays.
  setHeapGrowth();
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unknown command "${name}"\n\n${usage()}`);
  await runCommand(cmd, rest);
}

main(process.argv.slice(2)).then(
  // Worker connections and tfjs keep handles open; a finished command exits.
  () => process.exit(0),
  (e: Error) => {
    console.error(`tda: ${e.message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
