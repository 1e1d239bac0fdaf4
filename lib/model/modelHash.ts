import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { weightBytes } from './storeIO';

/** The artifacts a LayersModel would save (topology, weight specs and bytes), captured in memory. */
export async function modelArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

/** JSON with object keys sorted, so that equal values give equal text whatever the key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * sha256 (hex) over what the model computes: its topology (without the library-version fields
 * `keras_version` and `backend`, which change nothing), its weight specs and its weight bytes.
 * Stable across save/load and across stores; changes when any weight changes.
 */
export function artifactsHash(a: tf.io.ModelArtifacts): string {
  if (a.modelTopology instanceof ArrayBuffer)
    throw new Error('modelHash: binary model topologies are not supported');
  const {
    keras_version: _k,
    backend: _b,
    ...topology
  } = (a.modelTopology ?? {}) as Record<string, unknown>;
  const h = createHash('sha256');
  h.update(canonicalJson({ topology, weightSpecs: a.weightSpecs ?? [] }));
  h.update(weightBytes(a.weightData));
  return h.digest('hex');
}

export async function modelHash(m: tfl.LayersModel | tf.io.ModelArtifacts): Promise<string> {
  const isModel = typeof (m as tfl.LayersModel).save === 'function';
  return artifactsHash(
    isModel ? await modelArtifacts(m as tfl.LayersModel) : (m as tf.io.ModelArtifacts),
  );
}
