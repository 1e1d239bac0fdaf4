import { readCommitted, readManifest, sha256, Transaction } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { type Dataset, readDataset, sliceRows, writeDataset } from './dataset';

/**
 * A data set on a store as parts of at most `rowsPerPart` rows, each its own Arrow IPC file,
 * committed by one manifest. Nothing ever reads the whole set into one process: the pipeline
 * reads one part (or a row range of one) at a time, and a part's hash addresses what was
 * computed from it.
 */
export interface PartitionedInfo {
  name: string;
  kind: Dataset['kind'];
  shape: number[];
  classes: string[];
  vocabSize?: number;
  rows: number;
  parts: { name: string; rows: number; sha256: string }[];
}

export async function writePartitioned(
  store: ObjectStore,
  prefix: string,
  ds: Dataset,
  rowsPerPart = 10_000,
): Promise<PartitionedInfo> {
  if (ds.rows === 0) throw new Error(`data set "${ds.name}" has no rows`);
  const tx = new Transaction(store, prefix);
  const parts: PartitionedInfo['parts'] = [];
  for (let start = 0, i = 0; start < ds.rows; start += rowsPerPart, i++) {
    const part = sliceRows(ds, start, Math.min(ds.rows, start + rowsPerPart));
    const bytes = writeDataset(part);
    const name = `part-${String(i).padStart(5, '0')}.arrow`;
    await tx.put(name, bytes);
    parts.push({ name, rows: part.rows, sha256: sha256(bytes) });
  }
  const info: PartitionedInfo = {
    name: ds.name,
    kind: ds.kind,
    shape: ds.shape,
    classes: ds.classes,
    vocabSize: ds.vocabSize,
    rows: ds.rows,
    parts,
  };
  await tx.commit(info);
  return info;
}

export async function readPartitionedInfo(
  store: ObjectStore,
  prefix: string,
): Promise<PartitionedInfo> {
  const m = await readManifest<PartitionedInfo>(store, prefix);
  if (!m) throw new Error(`no data set at "${prefix}" in ${store.uri} (no committed manifest)`);
  return m.meta;
}

/** Reads one part, checking it is the bytes the manifest committed. */
export async function readPart(
  store: ObjectStore,
  prefix: string,
  info: PartitionedInfo,
  part: number,
): Promise<Dataset> {
  const p = info.parts[part];
  if (!p) throw new Error(`data set "${prefix}" has no part ${part} (it has ${info.parts.length})`);
  const bytes = await readCommitted(store, prefix, p.name);
  if (sha256(bytes) !== p.sha256) {
    throw new Error(`part ${p.name} of "${prefix}" does not match its manifest hash`);
  }
  return readDataset(bytes, `${prefix}/${p.name}`);
}

/** Reads every part and joins them: for small sets (queries, tests), never a training set. */
export async function readAllParts(store: ObjectStore, prefix: string): Promise<Dataset> {
  const info = await readPartitionedInfo(store, prefix);
  const parts = [];
  for (let i = 0; i < info.parts.length; i++) parts.push(await readPart(store, prefix, info, i));
  return concatDatasets(parts);
}

function concatArrays<T extends Int32Array | Float32Array | Uint8Array>(
  arrays: (T | undefined)[],
): T | undefined {
  if (arrays.some((a) => a === undefined)) return undefined;
  const present = arrays as T[];
  const Ctor = present[0].constructor as new (n: number) => T;
  const out = new Ctor(present.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of present) {
    out.set(a as never, o);
    o += a.length;
  }
  return out;
}

export function concatDatasets(parts: Dataset[]): Dataset {
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  return {
    ...first,
    rows: parts.reduce((s, p) => s + p.rows, 0),
    ids: concatArrays(parts.map((d) => d.ids)) as Int32Array,
    labels: concatArrays(parts.map((d) => d.labels)) as Int32Array,
    x: concatArrays(parts.map((d) => d.x)),
    tokens: concatArrays(parts.map((d) => d.tokens)),
    flipped: concatArrays(parts.map((d) => d.flipped)),
    originalLabels: concatArrays(parts.map((d) => d.originalLabels)),
    text: first.text ? parts.flatMap((p) => p.text ?? []) : undefined,
  };
}
