import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../lib/config';
import { type Command, numberOption, type OptionTable, optionsHelp } from '../command';

const options = {
  out: {
    type: 'string',
    arg: 'DIR',
    help: 'where report.html and summary.json go (default out/demo)',
  },
  queries: { type: 'string', arg: 'N', help: 'test queries TracIn-CP scores (default 100)' },
  workers: {
    type: 'string',
    arg: 'N',
    help: 'local worker processes to start (default: one per core, or one for\nnative TensorFlow, as tda worker)',
  },
} satisfies OptionTable;

const usage = `Usage: tda demo [--out DIR] [--queries N] [--workers N]

The main job on real data: imports Fashion-MNIST with 10% of training labels flipped, trains an
MLP with 3 checkpoints, runs TracIn-CP over all 60,000 training examples for N test queries
(default 100) and a mislabel audit (5 out-of-fold models trained on the workers, ranked by their
checkpoint-averaged self-confidence) through Temporal, writes DIR/report.html and
DIR/summary.json (default out/demo) and prints how many flipped labels the audit found in its
top 10%, beside cleanlab's figure recorded by bench:mislabel on the same flipped labels.
Options:
${optionsHelp(options)}`;

export const demo: Command = {
  name: 'demo',
  summary: 'the main job: Fashion-MNIST, 10% flipped labels, TracIn-CP, audit, HTML report',
  usage,
  options,
  async run({ values }) {
    const { runDemo } = await import('../demo');
    await runDemo(loadConfig(), {
      out:
        (values.out as string | undefined) ??
        fileURLToPath(new URL('../../out/demo', import.meta.url)),
      queries: numberOption(values, 'queries', 100),
      workers: values.workers === undefined ? undefined : numberOption(values, 'workers', 2),
    });
  },
};
