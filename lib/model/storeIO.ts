import { basename, dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FsStore } from '../store/fsStore';
import { getJson, NotFoundError, type ObjectStore } from '../store/objectStore';

/**
 * TensorFlow.js LayersModels in any ObjectStore, as the standard `model.json` + `weights.bin`
 * pair under a key prefix: tfjs-node (which owns the file:// handler) cannot install here, and
 * S3 needs a handler anyway. Files written by the tfjs converter (several weight shards) load too.
 */

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export function modelKey(prefix: string, file: string): string {
  const p = prefix.replace(/\/+$/, '');
  return p ? `${p}/${file}` : file;
}

/** Joins a weight file's path (relative to model.json) onto the prefix, rejecting escapes. */
function weightKey(prefix: string, path: string): string {
  if (path.startsWith('/') || path.split('/').includes('..') || /^[a-z]+:\/\//i.test(path)) {
    throw new Error(
      `model.json names weight file "${path}": only paths relative to model.json are supported`,
    );
  }
  return modelKey(prefix, path);
}

export function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** An IOHandler that saves to and loads from `store` under `prefix`. */
export function storeIOHandler(store: ObjectStore, prefix: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error(
          'saving binary (GraphDef) model topologies is not supported: LayersModel JSON only',
        );
      }
      const weights = weightBytes(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata)
        modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      // Weights first: a reader that finds model.json finds its weights.
      await store.put(modelKey(prefix, WEIGHTS_BIN), weights);
      const json = JSON.stringify(modelJson);
      await store.put(modelKey(prefix, MODEL_JSON), json);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(modelJson.modelTopology).length,
          weightSpecsBytes: JSON.stringify(modelJson.weightsManifest).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
    load: () => loadModelArtifacts(store, prefix),
  };
}

/** The artifacts (topology, weight specs, weight bytes) of the model saved under `prefix`. */
export async function loadModelArtifacts(
  store: ObjectStore,
  prefix: string,
  jsonFile = MODEL_JSON,
): Promise<tf.io.ModelArtifacts> {
  const key = modelKey(prefix, jsonFile);
  const json = await getJson<tf.io.ModelJSON>(store, key);
  if (
    !json ||
    typeof json !== 'object' ||
    !json.modelTopology ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw new Error(
      `${key} in ${store.uri} is not a TensorFlow.js model.json: it needs modelTopology and weightsManifest`,
    );
  }
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const parts: Uint8Array[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const path of group.paths) {
        try {
          parts.push(await store.get(weightKey(prefix, path)));
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
          throw new Error(
            `${key} in ${store.uri} names weight file "${path}", which is missing (${e.message})`,
          );
        }
      }
    }
    const total = parts.reduce((s, p) => s + p.byteLength, 0);
    const data = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.byteLength;
    }
    const needed = specs.reduce(
      (s, w) => s + w.shape.reduce((a, b) => a * b, 1) * bytesPer(w.dtype, w),
      0,
    );
    if (needed !== total) {
      throw new Error(
        `${key} in ${store.uri}: the weight specs need ${needed} bytes but the weight files hold ${total}`,
      );
    }
    return [specs, data.buffer];
  });
}

function bytesPer(dtype: string, w: tf.io.WeightsManifestEntry): number {
  if (w.quantization) return w.quantization.dtype === 'uint8' ? 1 : 2;
  if (dtype === 'float32' || dtype === 'int32') return 4;
  if (dtype === 'bool') return 1;
  throw new Error(`weight "${w.name}" has unsupported dtype ${dtype}`);
}

export async function saveModel(
  model: tfl.LayersModel,
  store: ObjectStore,
  prefix: string,
): Promise<void> {
  await model.save(storeIOHandler(store, prefix));
}

export function loadModel(store: ObjectStore, prefix: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(storeIOHandler(store, prefix));
}

/** Loads from a local folder holding model.json, or from the path of a model JSON file itself. */
export function loadModelFromPath(path: string): Promise<tfl.LayersModel> {
  const isJson = path.endsWith('.json');
  const store = new FsStore(isJson ? dirname(path) : path);
  const file = isJson ? basename(path) : MODEL_JSON;
  return tfl.loadLayersModel({ load: () => loadModelArtifacts(store, '', file) });
}

export async function saveModelToPath(model: tfl.LayersModel, dir: string): Promise<void> {
  await saveModel(model, new FsStore(dir), '');
}
