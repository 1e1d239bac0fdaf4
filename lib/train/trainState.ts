import type { ObjectStore } from '../store/objectStore';
import type { OptimizerConfig } from './optimizer';

/**
 * Everything needed to continue a training run exactly where it stopped, and its byte format: a
 * small binary file with a JSON header, so a run can checkpoint to an object store every few
 * steps and a retried worker can resume without redoing finished steps.
 */

export interface TrainConfig {
  optimizer: OptimizerConfig;
  learningRate: number;
  batchSize: number;
  /** Fixes the minibatch order and the dropout masks. */
  seed: number;
  /**
   * Denominator of the batch loss. 'batchSize' (default): the number of rows in the batch, so a
   * removed example (weight 0) leaves the others' step sizes unchanged, as in the further-training
   * gold standard. 'weightSum': the sum of the batch's weights (a weighted mean).
   */
  normalize?: 'batchSize' | 'weightSum';
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface TrainState {
  /** Steps completed. */
  step: number;
  config: TrainConfig;
  /** All model weights, in model.weights order (names are informative only). */
  weights: NamedArray[];
  optimizer: {
    kind: OptimizerConfig['kind'];
    updates: number;
    slots: Record<string, NamedArray[]>;
  };
  /**
   * The generator is counter-based, so its position is fully given by (seed, step): the draws
   * for step t are computed from the counter, never replayed.
   */
  rng: { algorithm: 'philox4x32-10'; seed: number; step: number };
  /** Caller's JSON-safe extras carried with the state (e.g. test-function values recorded so far). */
  meta?: Record<string, unknown>;
}

const MAGIC = 'TDATRAIN';
const VERSION = 1;

interface ArrayRef {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export function serializeTrainState(state: TrainState): Uint8Array {
  const blobs: Float32Array[] = [];
  let offset = 0;
  const ref = (a: NamedArray): ArrayRef => {
    const size = a.shape.reduce((p, d) => p * d, 1);
    if (size !== a.data.length) {
      throw new Error(`array "${a.name}" has ${a.data.length} values but shape [${a.shape}]`);
    }
    const r = { name: a.name, shape: a.shape, offset, length: a.data.length };
    blobs.push(a.data);
    offset += a.data.length * 4;
    return r;
  };
  const header = {
    version: VERSION,
    step: state.step,
    config: state.config,
    rng: state.rng,
    meta: state.meta ?? null,
    weights: state.weights.map(ref),
    optimizer: {
      kind: state.optimizer.kind,
      updates: state.optimizer.updates,
      slots: Object.fromEntries(
        Object.entries(state.optimizer.slots).map(([k, list]) => [k, list.map(ref)]),
      ),
    },
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  // magic(8) + headerLength(4) + header, padded so the float data starts 4-byte aligned.
  const dataStart = Math.ceil((12 + json.length) / 8) * 8;
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const f32 = new Float32Array(out.buffer, dataStart, offset / 4);
  let at = 0;
  for (const b of blobs) {
    f32.set(b, at);
    at += b.length;
  }
  return out;
}

export function deserializeTrainState(bytes: Uint8Array): TrainState {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error('not a training state: bad magic bytes');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = dv.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new Error('training state is truncated (header)');
  // biome-ignore lint/suspicious/noExplicitAny: parsed header, checked field by field below
  let h: any;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    throw new Error(`training state header is not valid JSON: ${(e as Error).message}`);
  }
  if (h.version !== VERSION) throw new Error(`unsupported training state version ${h.version}`);
  const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
  const read = (r: ArrayRef): NamedArray => {
    const begin = dataStart + r.offset;
    if (begin + r.length * 4 > bytes.length) {
      throw new Error(`training state is truncated (array "${r.name}")`);
    }
    // Copy into a fresh buffer: the caller's bytes may not be 4-byte aligned or may be reused.
    const data = new Float32Array(r.length);
    new Uint8Array(data.buffer).set(bytes.subarray(begin, begin + r.length * 4));
    return { name: r.name, shape: r.shape, data };
  };
  return {
    step: h.step,
    config: h.config,
    rng: h.rng,
    ...(h.meta ? { meta: h.meta } : {}),
    weights: (h.weights as ArrayRef[]).map(read),
    optimizer: {
      kind: h.optimizer.kind,
      updates: h.optimizer.updates,
      slots: Object.fromEntries(
        Object.entries(h.optimizer.slots as Record<string, ArrayRef[]>).map(([k, list]) => [
          k,
          list.map(read),
        ]),
      ),
    },
  };
}

export function saveTrainState(store: ObjectStore, key: string, state: TrainState): Promise<void> {
  return store.put(key, serializeTrainState(state));
}

/** The saved state at `key`, or undefined when none was saved yet. */
export async function loadTrainState(
  store: ObjectStore,
  key: string,
): Promise<TrainState | undefined> {
  if (!(await store.exists(key))) return undefined;
  return deserializeTrainState(await store.get(key));
}
