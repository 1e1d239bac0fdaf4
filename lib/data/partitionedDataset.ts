import { readCommitted, readManifest, sha256, Transaction } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { type Dataset, readDataset, sliceRows, takeRows, writeDataset } from './dataset';
import type { DataEncoding } from './import/encoding';

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
  /**
   * How `tda import` turned the source columns into these rows (column mapping, categories,
   * standardisation, vocabulary), committed with the parts so that query sets and later
   * batches are encoded the same way.
   */
  encoding?: DataEncoding;
}

export async function writePartitioned(
  store: ObjectStore,
  prefix: string,
  ds: Dataset,
  rowsPerPart = 10_000,
): Promise<PartitionedInfo> {
  if (ds.rows === 0) throw new Error(`data set "${ds.name}" has no rows`);
  const w = new PartitionedWriter(store, prefix, rowsPerPart);
  await w.add(ds);
  return w.commit();
}

/**
 * Writes a data set that arrives in chunks (a streaming import): a part goes to the store each
 * time rowsPerPart rows are buffered, so memory holds at most one part; the manifest is written
 * by commit() only, so a failed import leaves nothing visible, and abort() deletes its parts.
 */
export class PartitionedWriter {
  private readonly tx: Transaction;
  private readonly parts: PartitionedInfo['parts'] = [];
  private pending: Dataset[] = [];
  private pendingRows = 0;
  private first: Dataset | undefined;
  private rows = 0;

  constructor(
    private readonly store: ObjectStore,
    readonly prefix: string,
    private readonly rowsPerPart = 10_000,
  ) {
    if (!Number.isInteger(rowsPerPart) || rowsPerPart < 1) {
      throw new Error(`rows per part must be a positive integer, got ${rowsPerPart}`);
    }
    this.tx = new Transaction(store, prefix);
  }

  async add(chunk: Dataset): Promise<void> {
    if (chunk.rows === 0) return;
    this.first ??= chunk;
    this.pending.push(chunk);
    this.pendingRows += chunk.rows;
    while (this.pendingRows >= this.rowsPerPart) await this.flush(this.rowsPerPart);
  }

  private async flush(rows: number): Promise<void> {
    const all = concatDatasets(this.pending);
    const part = sliceRows(all, 0, rows);
    const bytes = writeDataset(part);
    const name = `part-${String(this.parts.length).padStart(5, '0')}.arrow`;
    await this.tx.put(name, bytes);
    this.parts.push({ name, rows, sha256: sha256(bytes) });
    this.rows += rows;
    this.pending = rows < all.rows ? [takeRest(all, rows)] : [];
    this.pendingRows = all.rows - rows;
  }

  async commit(encoding?: DataEncoding): Promise<PartitionedInfo> {
    if (this.pendingRows > 0) await this.flush(this.pendingRows);
    const ds = this.first;
    if (!ds) throw new Error(`data set at "${this.prefix}" has no rows`);
    const info: PartitionedInfo = {
      name: ds.name,
      kind: ds.kind,
      shape: ds.shape,
      classes: ds.classes,
      vocabSize: ds.vocabSize,
      rows: this.rows,
      parts: this.parts,
    };
    if (encoding) info.encoding = encoding;
    const m = await this.tx.commit(info);
    return m.meta;
  }

  /** Deletes the parts written so far (nothing was committed). */
  async abort(): Promise<void> {
    for (const p of this.parts) await this.store.delete(this.tx.keyOf(p.name)).catch(() => {});
  }
}

/** Rows [from, rows) copied out, so the buffered chunks they were views of can be freed. */
function takeRest(ds: Dataset, from: number): Dataset {
  return takeRows(
    ds,
    Int32Array.from({ length: ds.rows - from }, (_, i) => from + i),
  );
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

/**
 * Every row's id and flipped flag (lib/data/labelNoise), part by part, reading one part at a
 * time; undefined when the data set does not record which labels were flipped.
 */
export async function readFlipped(
  store: ObjectStore,
  prefix: string,
  info?: PartitionedInfo,
): Promise<{ ids: Int32Array; flipped: Uint8Array } | undefined> {
  const meta = info ?? (await readPartitionedInfo(store, prefix));
  const ids = new Int32Array(meta.rows);
  const flipped = new Uint8Array(meta.rows);
  let o = 0;
  for (let p = 0; p < meta.parts.length; p++) {
    const ds = await readPart(store, prefix, meta, p);
    if (!ds.flipped) return undefined;
    ids.set(ds.ids, o);
    flipped.set(ds.flipped, o);
    o += ds.rows;
  }
  return { ids, flipped };
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
    keys: first.keys ? parts.flatMap((p) => p.keys ?? []) : undefined,
  };
}
