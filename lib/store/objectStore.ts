/**
 * One contract for where the platform keeps its files: S3 (or any S3-compatible store) and the
 * local filesystem. Keys are '/'-separated relative paths; no leading slash.
 */
export interface ObjectStore {
  /** Where this store points, as a URI (s3://bucket/prefix or file:///abs/path). */
  readonly uri: string;
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Throws NotFoundError (naming the key) when there is no such object. */
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Every key under the prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Server-side copy (same store). */
  copy(fromKey: string, toKey: string): Promise<void>;
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

export async function getJson<T>(store: ObjectStore, key: string): Promise<T> {
  const bytes = await store.get(key);
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`object "${key}" in ${store.uri} is not valid JSON: ${(e as Error).message}`);
  }
}

export function putJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  return store.put(key, JSON.stringify(value, null, 1));
}
