import { loadConfig } from '../../lib/config';
import { readPartitionedInfo } from '../../lib/data/partitionedDataset';
import { describeFit, trainJob } from '../../lib/jobs/trainJob';
import type { Architecture } from '../../lib/model/architectures';
import { notLearned } from '../../lib/model/learned';
import { objectUri } from '../../lib/store/objectStore';
import { openStore } from '../../lib/store/openStore';
import type { OptimizerConfig } from '../../lib/train/optimizer';
import { ensureBackend } from '../../workers/worker';
import {
  type Command,
  numberOption,
  type OptionTable,
  optionsHelp,
  requireString,
  storeOption,
  UsageError,
} from '../command';

const options = {
  data: { type: 'string', arg: 'PREFIX', help: 'the training data set (required)' },
  out: {
    type: 'string',
    arg: 'KEY',
    help: 'the checkpoint manifest to write, e.g. models/m/checkpoints.json (required)',
  },
  arch: {
    type: 'string',
    arg: 'A',
    help: 'mlp:256,128 (hidden units) | cnn:32,64 (filters, dense units) |\ntext:32 (embedding size)   (default mlp:256,128)',
  },
  epochs: {
    type: 'string',
    arg: 'N',
    help: '(default 3); one checkpoint per epoch unless --checkpoint-every',
  },
  'checkpoint-every': { type: 'string', arg: 'S', help: 'save a checkpoint every S steps' },
  lr: { type: 'string', arg: 'R', help: 'learning rate (default 0.02)' },
  batch: { type: 'string', arg: 'B', help: 'batch size (default 128)' },
  optimizer: { type: 'string', arg: 'O', help: 'sgd | momentum | adam (default momentum)' },
  seed: {
    type: 'string',
    arg: 'S',
    help: 'minibatch order, dropout masks and the validation split (default 1)',
  },
  validation: {
    type: 'string',
    arg: 'V',
    help: 'a held-out set every checkpoint is measured on: a fraction of --data\n(e.g. 0.1, not trained on) or the prefix of another data set',
  },
  'early-stop': {
    type: 'string',
    arg: 'P',
    help: 'stop when the validation loss has not improved for P checkpoints and\nkeep the checkpoints up to the best one (needs --validation; --epochs\nis then the most)',
  },
  name: { type: 'string', arg: 'N', help: "model name in the manifest (default: the data set's)" },
  store: storeOption,
} satisfies OptionTable;

const usage = `Usage: tda train --data PREFIX --out KEY [options]

Trains a TensorFlow.js Layers model on a partitioned data set and saves its checkpoints (model.json
+ weights, with the learning rate each stands for) beside the manifest KEY.
Options:
${optionsHelp(options)}`;

export function parseArchitecture(s: string): Architecture {
  const [kind, rest = ''] = s.split(':');
  const nums = rest ? rest.split(',').map(Number) : [];
  if (nums.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`bad --arch "${s}"`);
  switch (kind) {
    case 'mlp':
      return { kind: 'mlp', hidden: nums.length ? nums : [256, 128] };
    case 'cnn':
      return { kind: 'cnn', filters: nums[0] ?? 32, dense: nums[1] ?? 64 };
    case 'text':
      return { kind: 'text', embedding: nums[0] ?? 32 };
    default:
      throw new UsageError(`unknown architecture "${kind}": mlp, cnn or text`);
  }
}

function parseOptimizer(s: string): OptimizerConfig {
  if (s === 'sgd') return { kind: 'sgd' };
  if (s === 'momentum') return { kind: 'momentum', momentum: 0.9 };
  if (s === 'adam') return { kind: 'adam' };
  throw new UsageError(`unknown optimizer "${s}": sgd, momentum or adam`);
}

/** A fraction of the data (0 < F < 1) or a data set prefix. */
function parseValidation(v: string | undefined): number | string | undefined {
  if (v === undefined) return undefined;
  if (!/^\d*\.?\d+$/.test(v)) return v;
  const f = Number(v);
  if (!(f > 0 && f < 1)) throw new UsageError(`--validation: a fraction is in (0, 1), got ${v}`);
  return f;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model and save its checkpoints with their learning rates',
  usage,
  options,
  async run({ values }) {
    const config = loadConfig();
    await ensureBackend(config);
    const data = requireString(values, 'data', usage);
    const out = requireString(values, 'out', usage);
    const store = openStore(config, values.store as string | undefined);
    const every = values['checkpoint-every'];
    const m = await trainJob(
      store,
      {
        data,
        checkpoints: out,
        name:
          (values.name as string | undefined) ?? data.split('/').filter(Boolean).pop() ?? 'model',
        architecture: parseArchitecture((values.arch as string | undefined) ?? 'mlp:256,128'),
        config: {
          optimizer: parseOptimizer((values.optimizer as string | undefined) ?? 'momentum'),
          learningRate: numberOption(values, 'lr', 0.02),
          batchSize: numberOption(values, 'batch', 128),
          seed: numberOption(values, 'seed', 1),
        },
        epochs: numberOption(values, 'epochs', 3),
        checkpointEvery:
          every === undefined ? undefined : numberOption(values, 'checkpoint-every', 0),
        validation: parseValidation(values.validation as string | undefined),
        earlyStop:
          values['early-stop'] === undefined ? undefined : numberOption(values, 'early-stop', 0),
      },
      console.log,
    );
    console.log(`${m.checkpoints.length} checkpoints → ${objectUri(store, out)}`);
    for (const c of m.checkpoints) {
      console.log(`  step ${c.step}  lr ${c.learningRate}  ${c.key}  ${describeFit(c.metrics)}`);
    }
    const classes = (await readPartitionedInfo(store, data)).classes.length;
    const problem = notLearned(m.checkpoints, classes);
    if (problem) console.log(`warning: ${problem}`);
  },
};
