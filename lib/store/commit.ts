import { createHash, randomUUID } from 'node:crypto';
import { concatBytes } from '../bytes';
import { getJsonIfPresent, type ObjectStore, putJson } from './objectStore';

/**
 * Atomic outputs on a store without transactions. A stage writes its files under an
 * attempt-unique temporary prefix and then writes one manifest naming them; the manifest is the
 * commit point. Readers resolve files only through a manifest, so a crashed or retried attempt
 * never exposes half-written output, and a repeated stage finds the manifest and skips the work.
 */
export const MANIFEST = 'MANIFEST.json';

export interface CommittedFile {
  key: string;
  bytes: number;
  /**
   * SHA-256 of the bytes; for a file uploaded in `parts` parts or stored in `pieces`
   * (ChunkedUpload), SHA-256 of the parts' or pieces' SHA-256 digests, in order (as S3 forms a
   * multipart ETag from the parts' MD5s).
   */
  sha256: string;
  parts?: number;
  /**
   * The objects whose bytes, in this order, are the file, when it is not the one object at `key`:
   * a file smaller than a multipart part, saved chunk by chunk, keeps its chunks as they were sent
   * (ChunkedUpload.finish), so no byte is sent twice.
   */
  pieces?: string[];
}

export interface Manifest<M = unknown> {
  version: 1;
  committedAt: string;
  files: Record<string, CommittedFile>;
  meta: M;
}

export class Transaction {
  readonly attemptPrefix: string;
  private readonly files: Record<string, CommittedFile> = {};

  constructor(
    private readonly store: ObjectStore,
    readonly prefix: string,
    attemptId: string = randomUUID(),
  ) {
    this.attemptPrefix = `${prefix}/_attempts/${attemptId}`;
  }

  async put(name: string, body: Uint8Array | string): Promise<CommittedFile> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    await this.store.put(this.keyOf(name), bytes);
    return this.adopt(name, { bytes: bytes.byteLength, sha256: sha256(bytes) });
  }

  /** Where this attempt writes `name`, for files written some other way (ChunkedUpload). */
  keyOf(name: string): string {
    return `${this.attemptPrefix}/${name}`;
  }

  /** Records a file already written at keyOf(name), to be committed with the others. */
  adopt(name: string, file: Omit<CommittedFile, 'key'>): CommittedFile {
    const committed = { key: this.keyOf(name), ...file };
    this.files[name] = committed;
    return committed;
  }

  /**
   * Writes the manifest last. If another attempt committed first, its manifest wins and is
   * returned: outputs are addressed by their inputs, so either is a correct result. Either way
   * the files of every other attempt at this prefix (killed, retried afresh, or this one if it
   * lost) are deleted: nothing will ever read them (bench:chaos found a killed featurize
   * attempt's saved chunk left behind).
   */
  async commit<M>(meta: M): Promise<Manifest<M>> {
    const existing = await readManifest<M>(this.store, this.prefix);
    if (existing) {
      await collectGarbage(this.store, this.prefix, existing);
      return existing;
    }
    const manifest: Manifest<M> = {
      version: 1,
      committedAt: new Date().toISOString(),
      files: this.files,
      meta,
    };
    await putJson(this.store, `${this.prefix}/${MANIFEST}`, manifest);
    await collectGarbage(this.store, this.prefix, manifest);
    return manifest;
  }
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readManifest<M = unknown>(
  store: ObjectStore,
  prefix: string,
): Promise<Manifest<M> | undefined> {
  const key = `${prefix}/${MANIFEST}`;
  const m = await getJsonIfPresent<Manifest<M>>(store, key);
  if (!m) return undefined;
  if (m.version !== 1 || typeof m.files !== 'object') {
    throw new Error(`"${key}" in ${store.uri} is not a manifest`);
  }
  return m;
}

/** Reads one committed file; fails if the prefix has no manifest or the file is not in it. */
export async function readCommitted(
  store: ObjectStore,
  prefix: string,
  name: string,
): Promise<Uint8Array> {
  const [bytes] = await readCommittedFiles(store, prefix, [name]);
  return bytes;
}

/** Several committed files of one prefix: its manifest read once, the files fetched at once. */
export async function readCommittedFiles(
  store: ObjectStore,
  prefix: string,
  names: string[],
): Promise<Uint8Array[]> {
  const m = await readManifest(store, prefix);
  if (!m) throw new Error(`"${prefix}" in ${store.uri} has no committed manifest`);
  // Every name checked before any fetch starts: a fetch must not be left running unawaited.
  const files = names.map((name) => {
    const f = m.files[name];
    if (!f) throw new Error(`manifest of "${prefix}" has no file "${name}"`);
    return f;
  });
  return Promise.all(files.map((f) => readCommittedFile(store, f)));
}

/** The objects a committed file is stored in, in order. */
export function objectsOf(f: CommittedFile): string[] {
  return f.pieces ?? [f.key];
}

/** A committed file's bytes: its one object, or its pieces (fetched together) joined. */
export async function readCommittedFile(store: ObjectStore, f: CommittedFile): Promise<Uint8Array> {
  if (!f.pieces) return store.get(f.key);
  return concatBytes(await Promise.all(f.pieces.map((k) => store.get(k))));
}

/**
 * Deletes files of attempts that the manifest does not reference (crashed or losing retries);
 * Transaction.commit does it for its prefix. Returns how many it deleted.
 */
export async function collectGarbage(
  store: ObjectStore,
  prefix: string,
  manifest?: Manifest,
): Promise<number> {
  const m = manifest ?? (await readManifest(store, prefix));
  const live = new Set(Object.values(m?.files ?? {}).flatMap(objectsOf));
  let removed = 0;
  for (const key of await store.list(`${prefix}/_attempts/`)) {
    if (!live.has(key)) {
      await store.delete(key);
      removed++;
    }
  }
  return removed;
}
