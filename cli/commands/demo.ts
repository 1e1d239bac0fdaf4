import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../lib/config';
import { type Command, numberOption } from '../command';

const usage = `Usage: tda demo [--out DIR] [--queries N] [--workers N]

The main job on real data: imports Fashion-MNIST with 10% of training labels flipped, trains an
MLP with 3 checkpoints, runs TracIn-CP over all 60,000 training examples for N test queries
(default 100) and a mislabel audit (influence self-score) through Temporal, writes
DIR/report.html (default out/demo) and prints how many flipped labels the audit found in its
top 10%.`;

export const demo: Command = {
  name: 'demo',
  summary: 'the main job: Fashion-MNIST, 10% flipped labels, TracIn-CP, audit, HTML report',
  usage,
  options: { out: { type: 'string' }, queries: { type: 'string' }, workers: { type: 'string' } },
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
