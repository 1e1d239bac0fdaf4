import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type KerasArchive, readKerasArchive } from './kerasArchive';
import {
  type KerasConfig,
  KerasImportError,
  mapKerasLayer,
  type TfjsLayerConfig,
} from './kerasLayers';

/**
 * A Keras 3 model (Sequential or Functional, from a `.keras` file) as an equivalent TensorFlow.js
 * LayersModel: the topology is rewritten into the Keras 2 JSON that tfjs-layers reads (layer by
 * layer through the registry in kerasLayers.ts), the model is built from it, and every layer's
 * variables are set from the HDF5 weights after checking their count and shapes.
 */

interface KerasLayerEntry {
  class_name: string;
  config: KerasConfig;
  name?: string;
  inbound_nodes?: { args: unknown[]; kwargs?: KerasConfig }[] | null;
}

type TensorRef = [string, number, number, Record<string, never>];

function layerName(l: KerasLayerEntry): string {
  const n = l.name ?? l.config?.name;
  if (typeof n !== 'string') throw new KerasImportError(`a ${l.class_name} layer has no name`);
  return n;
}

/** A Keras 3 `__keras_tensor__` reference as tfjs's [layer, node, tensor, kwargs]. */
function tensorRef(t: unknown, where: string): TensorRef {
  const h = ((t as KerasConfig)?.config as KerasConfig | undefined)?.keras_history;
  if ((t as KerasConfig)?.class_name !== '__keras_tensor__' || !Array.isArray(h)) {
    throw new KerasImportError(
      `${where}: an input that is not a layer output (${JSON.stringify(t).slice(0, 80)}) is not supported`,
    );
  }
  return [String(h[0]), Number(h[1]), Number(h[2]), {}];
}

/** Keras 3 nodes ({args, kwargs}) → tfjs inbound nodes (lists of tensor references). */
function inboundNodes(l: KerasLayerEntry, where: string): TensorRef[][] {
  return (l.inbound_nodes ?? []).map((node) => {
    if (node.args.length !== 1) {
      throw new KerasImportError(`${where}: called with ${node.args.length} positional arguments`);
    }
    for (const [k, v] of Object.entries(node.kwargs ?? {})) {
      // `training` and an absent mask change nothing at inference; anything else would.
      if (k !== 'training' && v !== null) {
        throw new KerasImportError(
          `${where}: call argument ${k}=${JSON.stringify(v)} is not supported`,
        );
      }
    }
    const a = node.args[0];
    return Array.isArray(a) ? a.map((t) => tensorRef(t, where)) : [tensorRef(a, where)];
  });
}

/** Keras writes one model input as a bare [name, node, tensor] and several as a list of them. */
function refList(v: unknown, field: string, file: string): [string, number, number][] {
  if (!Array.isArray(v) || v.length === 0) throw new KerasImportError(`${file}: no ${field}`);
  return (typeof v[0] === 'string' ? [v] : v) as [string, number, number][];
}

/** The tfjs model topology (Keras 2 JSON) for a Keras 3 config.json. */
export function kerasTopology(config: KerasConfig, file: string): KerasConfig {
  const cls = config.class_name;
  const inner = config.config as KerasConfig | undefined;
  const layers = inner?.layers as KerasLayerEntry[] | undefined;
  if (!Array.isArray(layers)) {
    throw new KerasImportError(`${file}: config.json describes a ${String(cls)} with no layers`);
  }
  const name = String(inner?.name ?? 'model');
  const mapped = (l: KerasLayerEntry): TfjsLayerConfig =>
    mapKerasLayer(l.class_name, l.config ?? {}, layerName(l), file);
  if (cls === 'Sequential') {
    if (layers[0]?.class_name !== 'InputLayer') {
      throw new KerasImportError(
        `${file}: Sequential model '${name}' has no InputLayer: build it with keras.Input(shape=...) before saving`,
      );
    }
    return { class_name: 'Sequential', config: { name, layers: layers.map(mapped) } };
  }
  if (cls === 'Functional' || cls === 'Model') {
    return {
      class_name: 'Model',
      config: {
        name,
        layers: layers.map((l) => ({
          ...mapped(l),
          name: layerName(l),
          inbound_nodes: inboundNodes(l, `layer '${layerName(l)}' (${l.class_name}) in ${file}`),
        })),
        input_layers: refList(inner?.input_layers, 'input_layers', file),
        output_layers: refList(inner?.output_layers, 'output_layers', file),
      },
    };
  }
  throw new KerasImportError(
    `${file}: model class ${String(cls)} is not supported (Sequential or Functional); a subclassed model has no config to rebuild`,
  );
}

/** Sets each layer's variables from the archive, checking count and shape layer by layer. */
function setWeights(model: tfl.LayersModel, archive: KerasArchive, file: string): void {
  const used = new Set<string>();
  for (const l of model.layers) {
    const vars = archive.weights.get(l.name) ?? [];
    used.add(l.name);
    const want = l.weights;
    const where = `layer '${l.name}' (${l.getClassName()}) in ${file}`;
    if (vars.length !== want.length) {
      throw new KerasImportError(
        `${where}: the weights file holds ${vars.length} variables, the layer has ${want.length} (${want.map((w) => w.originalName).join(', ')})`,
      );
    }
    if (want.length === 0) continue;
    const tensors = vars.map((v, i) => {
      if (JSON.stringify(v.shape) !== JSON.stringify(want[i].shape)) {
        throw new KerasImportError(
          `${where}: variable ${i} (${want[i].originalName}) has shape [${v.shape}] in the file, [${want[i].shape}] in the layer`,
        );
      }
      return tf.tensor(v.values, v.shape, 'float32');
    });
    l.setWeights(tensors);
    tf.dispose(tensors);
  }
  for (const [name, vars] of archive.weights) {
    if (!used.has(name) && vars.length > 0) {
      throw new KerasImportError(
        `${file}: the weights file has variables for unknown layer '${name}'`,
      );
    }
  }
}

/** Builds the LayersModel a `.keras` file describes. `file` names it in every error. */
export async function importKeras(bytes: Uint8Array, file: string): Promise<tfl.LayersModel> {
  const archive = await readKerasArchive(bytes, file);
  const topology = kerasTopology(archive.config, file);
  let model: tfl.LayersModel;
  try {
    model = await tfl.models.modelFromJSON({
      modelTopology: topology as tf.io.ModelJSON['modelTopology'],
    });
  } catch (e) {
    throw new KerasImportError(
      `${file}: tfjs-layers cannot build the model: ${(e as Error).message}`,
    );
  }
  setWeights(model, archive, file);
  return model;
}
