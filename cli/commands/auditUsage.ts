/**
 * `tda audit`'s option tables (one per verb that takes options) and the usage built from them,
 * kept apart from auditCommand.ts so `tda --help` loads no Temporal client.
 */
import { type OptionTable, optionsHelp } from '../command';

const schedule = {
  name: { type: 'string', arg: 'N', help: 'the schedule (required)' },
  data: {
    type: 'string',
    arg: 'PREFIX',
    help: 'the batches to audit live under PREFIX (required)',
  },
  checkpoints: { type: 'string', arg: 'KEY', help: 'the checkpoint manifest (required)' },
  cron: { type: 'string', arg: '"0 2 * * *"', help: 'when it runs (required)' },
  'top-k': { type: 'string', arg: 'K', help: 'suspects kept in the report' },
  'shard-size': { type: 'string', arg: 'S', help: 'examples per featurize shard' },
  projector: { type: 'string', arg: 'JSON', help: "as a run spec's projector" },
  queue: { type: 'string', arg: 'Q', help: 'task queue (default TDA_TASK_QUEUE_CPU)' },
  paused: { type: 'boolean', help: 'create the schedule paused' },
  'self-score': {
    type: 'string',
    arg: 'JSON',
    help: 'e.g. \'{"kind":"influence","layers":"last"}\' (default TracIn-CP\'s)',
  },
  'out-of-fold': {
    type: 'string',
    arg: 'JSON',
    help: 'rank by fold models, e.g.\n\'{"architecture":{"kind":"mlp","hidden":[256,128]},"epochs":10,"learningRate":0.05}\'',
  },
  raw: {
    type: 'string',
    arg: 'PREFIX2',
    help: 'first import each new Parquet/CSV/JSONL file under PREFIX2 as a batch\n(tda import) by the saved encoding of --like',
  },
  like: { type: 'string', arg: 'DATASET', help: 'with --raw: the data set whose encoding is used' },
} satisfies OptionTable;

const trigger = {
  wait: { type: 'boolean', help: 'wait for the audit and print its summary' },
} satisfies OptionTable;

/** Options by verb (a verb not here takes none). */
export const AUDIT_OPTIONS: Record<string, OptionTable> = { schedule, trigger };

export const AUDIT_USAGE = `  audit schedule --name N --data PREFIX --checkpoints KEY --cron "0 2 * * *" [options]
                           nightly self-influence audits of the batches under PREFIX
${optionsHelp(schedule, 4)}
  audit list               audit schedules: cron, paused, next and recent runs
  audit pause|unpause NAME
  audit trigger NAME [--wait]   run an audit now
${optionsHelp(trigger, 4)}
  audit delete NAME`;
