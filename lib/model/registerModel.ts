import type * as tfl from '@tensorflow/tfjs-layers';
import { planModel } from '../grad/factors';
import { layerHandlers } from '../grad/layers/index';
import type { LayerSelection } from '../grad/types';
import type { ObjectStore } from '../store/objectStore';
import {
  type CheckpointManifest,
  parseCheckpointManifest,
  writeCheckpointManifest,
} from './checkpoints';
import type { ImportedModel } from './importModel';
import { canonicalJson, modelArtifacts, modelHash } from './modelHash';
import { modelKey, saveModel } from './storeIO';

/**
 * `tda model add`: a user's checkpoints (or one final model) become a checkpoint manifest that a
 * run spec names. Everything is checked before anything is written: every checkpoint loads, all
 * share one topology, and the selected layers are ones the gradient engine supports. Then each
 * model is saved in the project's model format beside the manifest, and the manifest goes last,
 * so a failure leaves no manifest behind.
 */

export interface CheckpointInput {
  imported: ImportedModel;
  step: number;
  learningRate: number;
}

/** One row of the table `tda model add` prints: what attribution will see of each layer. */
export interface LayerRow {
  name: string;
  type: string;
  params: number;
  /** 'yes'/'no' for a layer with trainable weights, 'pass-through' for one without. */
  supported: 'yes' | 'no' | 'pass-through';
  selected: boolean;
}

export function layerTable(model: tfl.LayersModel, selected: Set<string>): LayerRow[] {
  return model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .map((l) => {
      const trainable = l.trainable && l.trainableWeights.length > 0;
      return {
        name: l.name,
        type: l.getClassName(),
        params: l.countParams(),
        supported: !trainable ? 'pass-through' : layerHandlers[l.getClassName()] ? 'yes' : 'no',
        selected: selected.has(l.name),
      };
    });
}

export function formatLayerTable(rows: LayerRow[]): string {
  const head = ['layer', 'type', 'parameters', 'supported', 'selected'];
  const cells = rows.map((r) => [
    r.name,
    r.type,
    String(r.params),
    r.supported,
    r.selected ? 'yes' : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}

/** A layer's config without its initializers, which change nothing in a trained model. */
function withoutInitializers(layer: unknown): unknown {
  const l = layer as { config?: Record<string, unknown> };
  if (!l?.config) return layer;
  const config = Object.fromEntries(
    Object.entries(l.config).filter(([k]) => !k.endsWith('_initializer')),
  );
  return { ...l, config };
}

/** The model's topology without library-version fields, as canonical JSON per layer. */
async function topologyLayers(model: tfl.LayersModel): Promise<{ name: string; json: string }[]> {
  const topo = (await modelArtifacts(model)).modelTopology as Record<string, unknown>;
  const cfg = topo.config as Record<string, unknown>;
  const layers = (Array.isArray(cfg) ? cfg : (cfg.layers as unknown[])) ?? [];
  const rest = { ...cfg, layers: undefined, name: undefined }; // the model's name computes nothing
  return [
    { name: '(model)', json: canonicalJson({ class_name: topo.class_name, config: rest }) },
    ...layers.map((l) => {
      const e = l as { config?: { name?: string }; name?: string };
      return {
        name: String(e.name ?? e.config?.name),
        json: canonicalJson(withoutInitializers(l)),
      };
    }),
  ];
}

/** Fails naming the first layer where a checkpoint's topology differs from the first one's. */
async function checkSameTopology(checkpoints: CheckpointInput[]): Promise<void> {
  const first = await topologyLayers(checkpoints[0].imported.model);
  for (const c of checkpoints.slice(1)) {
    const other = await topologyLayers(c.imported.model);
    const n = Math.max(first.length, other.length);
    for (let i = 0; i < n; i++) {
      if (first[i]?.json === other[i]?.json) continue;
      const what =
        first[i] && other[i]
          ? first[i].name === other[i].name
            ? `layer '${first[i].name}' differs`
            : `layer ${i} is '${other[i].name}', not '${first[i].name}'`
          : `it has ${other.length - 1} layers, not ${first.length - 1}`;
      throw new Error(
        `checkpoint at step ${c.step} (${c.imported.source}) has a different topology from step ${checkpoints[0].step} (${checkpoints[0].imported.source}): ${what}`,
      );
    }
  }
}

/** The layers a selection picks, or an error naming the unsupported layer and how to exclude it. */
function checkSupported(imported: ImportedModel, layers: LayerSelection): Set<string> {
  try {
    const plan = planModel(imported.model, layers);
    return new Set(plan.steps.filter((s) => s.selected).map((s) => s.layer.name));
  } catch (e) {
    throw new Error(
      `${imported.source}: ${(e as Error).message}. Choose the layers to attribute with ` +
        `--layers NAME,... (run spec: layers: {names: [...]})`,
    );
  }
}

export interface RegisterOptions {
  store: ObjectStore;
  /** Where the manifest goes; the models go beside it, one folder per step. */
  manifestKey: string;
  name: string;
  layers: LayerSelection;
  /** Overwrite an existing manifest at manifestKey. */
  replace?: boolean;
}

export interface Registered {
  manifest: CheckpointManifest;
  table: LayerRow[];
}

export async function registerModel(
  input: CheckpointInput[],
  opts: RegisterOptions,
): Promise<Registered> {
  if (input.length === 0) throw new Error('no checkpoints given');
  const checkpoints = [...input].sort((a, b) => a.step - b.step);
  for (let i = 1; i < checkpoints.length; i++) {
    if (checkpoints[i].step === checkpoints[i - 1].step) {
      throw new Error(
        `two checkpoints at step ${checkpoints[i].step}: ${checkpoints[i - 1].imported.source} and ${checkpoints[i].imported.source}`,
      );
    }
  }
  const dir = opts.manifestKey.includes('/')
    ? opts.manifestKey.slice(0, opts.manifestKey.lastIndexOf('/'))
    : '';
  const entries = checkpoints.map((c) => ({
    step: c.step,
    learningRate: c.learningRate,
    key: `step-${c.step}`,
  }));
  // Validates name, steps and learning rates before any model is looked at.
  parseCheckpointManifest({ model: opts.name, checkpoints: entries }, 'the checkpoints given');
  await checkSameTopology(checkpoints);
  const selected = checkSupported(checkpoints[0].imported, opts.layers);
  if (!opts.replace && (await opts.store.exists(opts.manifestKey))) {
    throw new Error(
      `${opts.manifestKey} already exists in ${opts.store.uri}: choose another --out or pass --replace`,
    );
  }
  const withHashes = [];
  for (const [i, c] of checkpoints.entries()) {
    await saveModel(c.imported.model, opts.store, modelKey(dir, entries[i].key));
    withHashes.push({ ...entries[i], hash: await modelHash(c.imported.model) });
  }
  const manifest = { model: opts.name, checkpoints: withHashes };
  await writeCheckpointManifest(opts.store, opts.manifestKey, manifest);
  return {
    manifest: parseCheckpointManifest(manifest),
    table: layerTable(checkpoints[0].imported.model, selected),
  };
}
