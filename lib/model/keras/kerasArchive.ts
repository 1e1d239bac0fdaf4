import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import h5wasm, { type File as H5File } from 'h5wasm/node';
import { type KerasConfig, KerasImportError } from './kerasLayers';

/**
 * The contents of a Keras 3 `.keras` file: a zip holding `config.json` (the topology),
 * `metadata.json` and `model.weights.h5` (HDF5: one group per layer, `layers/<group>/vars/<i>`,
 * whose `vars` group carries the layer's name as its `name` attribute; group names are snake_case
 * class names, not layer names). Read through fflate (zip) and h5wasm (the HDF5 C library in wasm).
 */

export interface KerasVariable {
  shape: number[];
  values: Float32Array;
}

export interface KerasArchive {
  config: KerasConfig;
  kerasVersion?: string;
  /** Each layer's variables in its own order (kernel, bias, ...), by layer name. */
  weights: Map<string, KerasVariable[]>;
}

const CONFIG = 'config.json';
const WEIGHTS = 'model.weights.h5';
const METADATA = 'metadata.json';

function unzip(bytes: Uint8Array, file: string): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes, { filter: (f) => [CONFIG, WEIGHTS, METADATA].includes(f.name) });
  } catch (e) {
    throw new KerasImportError(
      `${file} is not a readable zip archive (a .keras file is one): ${(e as Error).message}`,
    );
  }
}

function parseJson(bytes: Uint8Array, what: string): KerasConfig {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as KerasConfig;
  } catch (e) {
    throw new KerasImportError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** h5wasm's Node build reads real files; the HDF5 bytes go to a private temporary file. */
async function withH5File<T>(bytes: Uint8Array, fn: (f: H5File) => T): Promise<T> {
  await h5wasm.ready;
  const dir = mkdtempSync(join(tmpdir(), 'tda-keras-'));
  const path = join(dir, WEIGHTS);
  try {
    writeFileSync(path, bytes);
    const f = new h5wasm.File(path, 'r');
    try {
      return fn(f);
    } finally {
      f.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readWeights(f: H5File, what: string): Map<string, KerasVariable[]> {
  const out = new Map<string, KerasVariable[]>();
  const layers = f.get('layers');
  if (!(layers instanceof h5wasm.Group)) return out;
  for (const key of layers.keys()) {
    const vars = f.get(`layers/${key}/vars`);
    if (!(vars instanceof h5wasm.Group)) continue;
    const nameAttr = vars.attrs.name?.value;
    const name = typeof nameAttr === 'string' ? nameAttr : key;
    const list: KerasVariable[] = [];
    const indices = vars
      .keys()
      .map(Number)
      .sort((a, b) => a - b);
    for (const i of indices) {
      const d = f.get(`layers/${key}/vars/${i}`);
      if (!(d instanceof h5wasm.Dataset)) {
        throw new KerasImportError(`${what}: layers/${key}/vars/${i} is not a dataset`);
      }
      const v = d.value;
      if (!(v instanceof Float32Array || v instanceof Float64Array)) {
        throw new KerasImportError(
          `${what}: layers/${key}/vars/${i} (layer '${name}') has dtype ${String(d.dtype)}; only float32/float64 weights import`,
        );
      }
      list.push({
        shape: [...(d.shape ?? [])],
        values: v instanceof Float32Array ? v : Float32Array.from(v),
      });
    }
    if (out.has(name)) throw new KerasImportError(`${what}: two weight groups for layer '${name}'`);
    out.set(name, list);
  }
  return out;
}

/** Reads a `.keras` file's topology and weights; `file` names it in errors. */
export async function readKerasArchive(bytes: Uint8Array, file: string): Promise<KerasArchive> {
  const entries = unzip(bytes, file);
  for (const need of [CONFIG, WEIGHTS]) {
    if (!entries[need]) {
      throw new KerasImportError(
        `${file} holds no ${need}: not a Keras 3 .keras file (Keras 3 saves config.json and model.weights.h5)`,
      );
    }
  }
  const config = parseJson(entries[CONFIG], `${file}: ${CONFIG}`);
  const meta = entries[METADATA] ? parseJson(entries[METADATA], `${file}: ${METADATA}`) : {};
  let weights: Map<string, KerasVariable[]>;
  try {
    weights = await withH5File(entries[WEIGHTS], (f) => readWeights(f, `${file}: ${WEIGHTS}`));
  } catch (e) {
    if (e instanceof KerasImportError) throw e;
    throw new KerasImportError(
      `${file}: ${WEIGHTS} is not a readable HDF5 file: ${(e as Error).message}`,
    );
  }
  return {
    config,
    kerasVersion: typeof meta.keras_version === 'string' ? meta.keras_version : undefined,
    weights,
  };
}
