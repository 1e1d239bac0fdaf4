import { formatOfName } from '../data/import/formats';
import { importSource } from '../data/import/importData';
import { ImportInputError } from '../data/import/inputError';
import { openStoreSource } from '../data/import/source';
import { readPartitionedInfo } from '../data/partitionedDataset';
import { MANIFEST } from '../store/commit';
import { getJson, type ObjectStore, putJson } from '../store/objectStore';
import { AuditInputError, type AuditSpec } from './auditSpec';

/**
 * Raw batches for audits: files that land under a prefix (a nightly Parquet export, a CSV per
 * day) are imported, each into its own batch of the audit's data, with the encoding saved by
 * the `tda import` of the first data set, so a new day's rows are one-hot and standardised
 * exactly as the model's training data was. A file that does not fit that encoding is rejected
 * once: the rejection is recorded beside the batches and reported, never retried.
 */
export interface RawFile {
  key: string;
  /** The batch it becomes: `<data>/<batch>/`. */
  batch: string;
}

export interface RejectedFile {
  file: string;
  batch: string;
  error: string;
  time: string;
}

const TABLE_FORMATS = new Set(['csv', 'tsv', 'jsonl', 'parquet', 'arrow']);

/** `2025-06-01.parquet` → `2025-06-01`; sub-folders joined by '-', odd characters as '-'. */
export function batchNameOf(relative: string): string {
  const noExt = relative.replace(
    /(\.(csv|tsv|tab|jsonl|ndjson|parquet|pq|arrows?|feather|ipc))?(\.gz)?$/i,
    '',
  );
  return noExt.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '') || 'batch';
}

function rejectedKey(data: string, batch: string): string {
  return `${data.replace(/\/+$/, '')}/_rejected/${batch}.json`;
}

/** Raw files under the spec's raw prefix that are neither imported nor rejected yet, sorted. */
export async function pendingRawFiles(store: ObjectStore, spec: AuditSpec): Promise<RawFile[]> {
  if (!spec.raw) return [];
  const root = spec.raw.prefix.replace(/\/+$/, '');
  const data = spec.data.replace(/\/+$/, '');
  const out: RawFile[] = [];
  for (const key of await store.list(`${root}/`)) {
    const rel = key.slice(root.length + 1);
    if (rel.split('/').some((p) => p.startsWith('.') || p.startsWith('_'))) continue;
    const format = formatOfName(rel);
    if (!format || !TABLE_FORMATS.has(format.name)) continue;
    const batch = batchNameOf(rel);
    if (await store.exists(`${data}/${batch}/${MANIFEST}`)) continue;
    if (await store.exists(rejectedKey(data, batch))) continue;
    out.push({ key, batch });
  }
  return out;
}

/**
 * Imports one raw file as a batch. Bad input (a missing column, a value that is not a number, a
 * label outside the classes, a corrupt file) is recorded as rejected and thrown as InputError.
 */
export async function importRawFile(
  store: ObjectStore,
  spec: AuditSpec,
  file: RawFile,
  time: string,
): Promise<{ batch: string; rows: number }> {
  if (!spec.raw) throw new AuditInputError('raw: this audit watches no raw prefix');
  const like = await readPartitionedInfo(store, spec.raw.like).catch((e: Error) => {
    throw new AuditInputError(`raw.like: ${e.message}`);
  });
  if (!like.encoding) {
    throw new AuditInputError(
      `raw.like: data set "${spec.raw.like}" has no saved encoding (import it with tda import FILE)`,
    );
  }
  const uri = (k: string) => `${store.uri}${store.uri.endsWith('/') ? '' : '/'}${k}`;
  const data = spec.data.replace(/\/+$/, '');
  try {
    const source = await openStoreSource(store, file.key, uri(file.key), uri);
    const r = await importSource(source, store, `${data}/${file.batch}`, {
      like: like.encoding,
      name: file.batch,
    });
    return { batch: file.batch, rows: r.info.rows };
  } catch (e) {
    if (!(e instanceof ImportInputError)) throw e;
    const rejected: RejectedFile = {
      file: uri(file.key),
      batch: file.batch,
      error: e.message,
      time,
    };
    await putJson(store, rejectedKey(data, file.batch), rejected);
    throw e;
  }
}

/** Every raw file rejected so far, by batch name. */
export async function listRejected(store: ObjectStore, data: string): Promise<RejectedFile[]> {
  const prefix = `${data.replace(/\/+$/, '')}/_rejected/`;
  const out: RejectedFile[] = [];
  for (const key of await store.list(prefix)) {
    if (key.endsWith('.json')) out.push(await getJson<RejectedFile>(store, key));
  }
  return out;
}
