import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from '../../lib/config';
import type { LayerSelection } from '../../lib/grad/types';
import { importModel } from '../../lib/model/importModel';
import {
  type CheckpointInput,
  formatLayerTable,
  registerModel,
} from '../../lib/model/registerModel';
import { FsStore } from '../../lib/store/fsStore';
import type { ObjectStore } from '../../lib/store/objectStore';
import { openStore } from '../../lib/store/openStore';
import { initBackend } from '../../lib/tf/backend';
import {
  type Command,
  type OptionTable,
  optionsHelp,
  parserOptions,
  storeOption,
  UsageError,
} from '../command';

/** `tda model add`'s options. */
const addOptions = {
  checkpoint: {
    type: 'string',
    multiple: true,
    arg: 'PATH:STEP:LR',
    help: 'a checkpoint, its training step and the learning rate in force over\nthe interval it stands for (repeat for each checkpoint)',
  },
  model: { type: 'string', arg: 'PATH', help: 'one final model instead (step 0, learning rate 1)' },
  out: {
    type: 'string',
    arg: 'KEY',
    help: "the manifest's key in the store, e.g. models/mine/checkpoints.json",
  },
  name: {
    type: 'string',
    arg: 'N',
    help: 'model name in the manifest (default: the folder of KEY)',
  },
  layers: {
    type: 'string',
    arg: 'L',
    help: 'layers to attribute: all (default), last, adapters, or names a,b',
  },
  store: storeOption,
  replace: { type: 'boolean', help: 'overwrite an existing manifest at KEY' },
} satisfies OptionTable;

const usage = `Usage: tda model add (--checkpoint PATH:STEP:LR ... | --model PATH) --out KEY [options]

Registers a model trained elsewhere: loads each checkpoint, checks they share one topology and
that the selected layers are supported by the gradient engine, saves them in tda's model format
beside the checkpoint manifest KEY (what a run spec's \`checkpoints:\` names) and prints the layers
attribution will see. Nothing is written when any check fails.

PATH is a local path or s3://bucket/key: a Keras 3 .keras file, a TensorFlow.js model.json (with
its weight files beside it, as the tfjs converter writes them), or a folder holding one of those.
Options:
${optionsHelp(addOptions)}`;

/** A model's location as a store and a key: s3://bucket/key, or a local file or folder. */
export function openLocation(
  config: Config,
  location: string,
): { store: ObjectStore; key: string } {
  if (location.startsWith('s3://')) {
    const rest = location.slice('s3://'.length);
    const slash = rest.indexOf('/');
    if (slash < 0 || slash === rest.length - 1) {
      throw new UsageError(`${location}: name the model file or folder inside the bucket`);
    }
    return {
      store: openStore(config, `s3://${rest.slice(0, slash)}`),
      key: rest.slice(slash + 1).replace(/\/+$/, ''),
    };
  }
  const abs = resolve(location);
  return { store: new FsStore(dirname(abs)), key: basename(abs) };
}

/** PATH:STEP:LR, split from the right so that PATH may hold colons (s3://...). */
export function parseCheckpointArg(arg: string): {
  path: string;
  step: number;
  learningRate: number;
} {
  const parts = arg.split(':');
  const [step, lr] = parts.slice(-2).map(Number);
  const path = parts.slice(0, -2).join(':');
  if (parts.length < 3 || !path || !Number.isInteger(step) || step < 0 || !(lr > 0)) {
    throw new UsageError(
      `--checkpoint "${arg}": expected PATH:STEP:LR with STEP an integer >= 0 and LR > 0`,
    );
  }
  return { path, step, learningRate: lr };
}

export function parseLayers(s: string | undefined): LayerSelection {
  if (s === undefined || s === 'all' || s === 'last' || s === 'adapters') return s ?? 'all';
  return { names: s.split(',').filter(Boolean) };
}

export async function modelAdd(config: Config, argv: string[]): Promise<void> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: parserOptions(addOptions),
      strict: true,
      allowPositionals: false,
    }) as { values: typeof values });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
  const out = values.out;
  if (typeof out !== 'string' || !out) throw new UsageError(`--out is required\n\n${usage}`);
  const given = (values.checkpoint as string[] | undefined) ?? [];
  if (given.length > 0 && values.model !== undefined) {
    throw new UsageError('give either --checkpoint (repeated) or --model, not both');
  }
  const sources =
    typeof values.model === 'string'
      ? [{ path: values.model, step: 0, learningRate: 1 }]
      : given.map(parseCheckpointArg);
  if (sources.length === 0) throw new UsageError(`--checkpoint or --model is required\n\n${usage}`);
  await initBackend(config.backend, () => {});
  const checkpoints: CheckpointInput[] = [];
  for (const s of sources) {
    const { store, key } = openLocation(config, s.path);
    checkpoints.push({
      imported: await importModel(store, key),
      step: s.step,
      learningRate: s.learningRate,
    });
  }
  const store = openStore(config, values.store as string | undefined);
  const name = (values.name as string | undefined) ?? (basename(dirname(out)) || 'model');
  const r = await registerModel(checkpoints, {
    store,
    manifestKey: out,
    name,
    layers: parseLayers(values.layers as string | undefined),
    replace: values.replace === true,
  });
  console.log(formatLayerTable(r.table));
  console.log(
    `\n${r.manifest.checkpoints.length} checkpoint(s) of model "${name}" → ${store.uri.replace(/\/+$/, '')}/${out}`,
  );
  for (const c of r.manifest.checkpoints) {
    console.log(`  step ${c.step}  lr ${c.learningRate}  ${c.key}  ${c.hash?.slice(0, 12)}`);
  }
}

export const modelCommand: Command = {
  name: 'model',
  summary: 'register a Keras or TensorFlow.js model and its checkpoints (model add)',
  usage,
  rawArgs: true,
  verbOptions: { add: addOptions },
  async run({ positionals }) {
    const [verb, ...rest] = positionals;
    if (verb !== 'add')
      throw new UsageError(`unknown verb "${verb ?? ''}": tda model add\n\n${usage}`);
    await modelAdd(loadConfig(), rest);
  },
};
