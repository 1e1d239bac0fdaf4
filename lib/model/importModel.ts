import * as tfl from '@tensorflow/tfjs-layers';
import type { ObjectStore } from '../store/objectStore';
import { importKeras } from './keras/importKeras';
import { loadModelArtifacts, MODEL_JSON, modelKey } from './storeIO';

/**
 * A user's model, from whatever form it was saved in, as a TensorFlow.js LayersModel. One loader
 * per format; the format is told by the name: a Keras 3 `.keras` file, a TensorFlow.js
 * `model.json` (with its weight shards, as the tfjs converter or `model.save` writes them), or a
 * folder holding exactly one of those.
 */

export type ModelFormat = 'keras' | 'tfjs';

export interface ImportedModel {
  model: tfl.LayersModel;
  format: ModelFormat;
  /** Where it came from, for messages: the store URI and key. */
  source: string;
}

const loaders: Record<
  ModelFormat,
  (store: ObjectStore, key: string, source: string) => Promise<tfl.LayersModel>
> = {
  keras: async (store, key, source) => importKeras(await store.get(key), source),
  tfjs: async (store, key) => {
    const i = key.lastIndexOf('/');
    const [prefix, file] = i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
    return tfl.loadLayersModel({ load: () => loadModelArtifacts(store, prefix, file) });
  },
};

function formatOf(key: string): ModelFormat | undefined {
  if (key.endsWith('.keras')) return 'keras';
  if (key.endsWith('.json')) return 'tfjs';
  return undefined;
}

const describe = (store: ObjectStore, key: string) =>
  `${store.uri.replace(/\/+$/, '')}${key ? `/${key}` : ''}`;

/** Which file under `key` (a model file, or a folder) holds the model, and in which format. */
async function resolveModelFile(
  store: ObjectStore,
  key: string,
): Promise<{ key: string; format: ModelFormat }> {
  const direct = formatOf(key);
  if (direct) {
    if (!(await store.exists(key))) throw new Error(`no model file at ${describe(store, key)}`);
    return { key, format: direct };
  }
  const json = modelKey(key, MODEL_JSON);
  if (await store.exists(json)) return { key: json, format: 'tfjs' };
  const folder = key ? `${key.replace(/\/+$/, '')}/` : '';
  const kerasFiles = (await store.list(folder)).filter(
    (k) => k.endsWith('.keras') && !k.slice(folder.length).includes('/'),
  );
  if (kerasFiles.length === 1) return { key: kerasFiles[0], format: 'keras' };
  throw new Error(
    kerasFiles.length > 1
      ? `${describe(store, key)} holds several .keras files (${kerasFiles.join(', ')}): name one`
      : `${describe(store, key)} holds no model: expected a .keras file, a model.json, or a folder with one of them`,
  );
}

/** Loads the model at `key` in `store` (a file or a folder), whatever its format. */
export async function importModel(store: ObjectStore, key: string): Promise<ImportedModel> {
  const file = await resolveModelFile(store, key);
  const source = describe(store, file.key);
  const model = await loaders[file.format](store, file.key, source);
  return { model, format: file.format, source };
}
