import type { Readable } from 'node:stream';

/**
 * One contract for where the platform keeps its files: S3 (or any S3-compatible store) and the
 * local filesystem. Keys are '/'-separated relative paths; no leading slash.
 */
/** A part of a multipart upload as the store reports it and completion names it. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface ObjectStore {
  /** Where this store points, as a URI (s3://bucket/prefix or file:///abs/path). */
  readonly uri: string;
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Throws NotFoundError (naming the key) when there is no such object. */
  get(key: string): Promise<Uint8Array>;
  /** The object's bytes as a stream, for files too large to hold (imports); NotFoundError as get. */
  getStream(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  /** Every key under the prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Server-side copy (same store). */
  copy(fromKey: string, toKey: string): Promise<void>;

  /**
   * Multipart uploads: parts sent once each, in any order, that complete() joins into one object
   * (invisible until then). Every part but the last must hold at least minPartBytes (S3: 5 MiB).
   */
  readonly minPartBytes: number;
  createUpload(key: string): Promise<string>;
  /** Returns the part's ETag; throws NoSuchUploadError when the upload is gone. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string>;
  /** The parts the store holds for the upload; throws NoSuchUploadError when it is gone. */
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  completeUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  abortUpload(key: string, uploadId: string): Promise<void>;
}

/** S3's rule for every part of a multipart upload but the last. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;

export class NoSuchUploadError extends Error {
  constructor(
    readonly uri: string,
    readonly key: string,
    readonly uploadId: string,
  ) {
    super(`no multipart upload "${uploadId}" for key "${key}" in ${uri} (aborted or expired)`);
    this.name = 'NoSuchUploadError';
  }
}

export class NotFoundError extends Error {
  constructor(
    readonly uri: string,
    readonly key: string,
  ) {
    super(`no object at key "${key}" in ${uri}`);
    this.name = 'NotFoundError';
  }
}

/** Rejects keys that would escape a prefix or be ambiguous across stores. */
export function checkKey(key: string): string {
  if (key === '' || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.')) {
    throw new Error(`invalid object key "${key}": keys are relative paths without '.' or '..'`);
  }
  return key;
}

/** The URI of one key in a store (s3://bucket/prefix/key, file:///root/key), for messages. */
export function objectUri(store: ObjectStore, key: string): string {
  return `${store.uri.replace(/\/+$/, '')}/${key.replace(/^\/+/, '')}`;
}

export async function getJson<T>(store: ObjectStore, key: string): Promise<T> {
  const bytes = await store.get(key);
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`object "${key}" in ${store.uri} is not valid JSON: ${(e as Error).message}`);
  }
}

/** getJson, or undefined where there is no such object: one GET, no existence check first. */
export async function getJsonIfPresent<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return await getJson<T>(store, key);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

export function putJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  return store.put(key, JSON.stringify(value, null, 1));
}
