/**
 * What a bucket holds, read through its commit points (lib/store/commit.ts): every committed
 * manifest and the files it names, the objects outside them, and the multipart uploads left
 * open. Outside objects are either written directly under a fixed key (a run's plan.json, a
 * checkpoint manifest and its weights) or temporary: an uncommitted attempt's files under
 * `_attempts/` and an upload's pending chunks, which nothing will ever read.
 */
import { createHash } from 'node:crypto';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { MANIFEST, type Manifest, objectsOf } from '../lib/store/commit';
import { getJson } from '../lib/store/objectStore';
import type { S3Store } from '../lib/store/s3Store';

export interface StoreCensus {
  /** `<manifest prefix>/<file name>` → the objects it is stored in, for every committed file. */
  committed: Map<string, string[]>;
  manifests: number;
  /** Objects neither a manifest nor named by one. */
  outside: string[];
  /** Outside objects left by attempts that never committed. */
  temporary: string[];
  /** Multipart uploads started and never completed or aborted (null: the store cannot list). */
  openUploads: number | null;
}

/** An uncommitted attempt's object: under `_attempts/`, or a pending chunk of an upload. */
export function isTemporary(key: string): boolean {
  return key.includes('/_attempts/') || /\.chunk-\d+$/.test(key);
}

export async function storeCensus(store: S3Store, bucket: string): Promise<StoreCensus> {
  const keys = await store.list('');
  const committed = new Map<string, string[]>();
  const live = new Set<string>();
  let manifests = 0;
  for (const key of keys) {
    if (key !== MANIFEST && !key.endsWith(`/${MANIFEST}`)) continue;
    const prefix = key.slice(0, key.length - MANIFEST.length - 1);
    const m = await getJson<Manifest>(store, key);
    manifests++;
    live.add(key);
    for (const [name, f] of Object.entries(m.files)) {
      committed.set(`${prefix}/${name}`, objectsOf(f));
      for (const k of objectsOf(f)) live.add(k);
    }
  }
  const outside = keys.filter((k) => !live.has(k));
  return {
    committed,
    manifests,
    outside,
    temporary: outside.filter(isTemporary),
    openUploads: await openUploads(store, bucket).catch(() => null),
  };
}

async function openUploads(store: S3Store, bucket: string): Promise<number> {
  let n = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const res = await store.client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    n += res.Uploads?.length ?? 0;
    if (!res.IsTruncated) return n;
    keyMarker = res.NextKeyMarker;
    uploadIdMarker = res.NextUploadIdMarker;
  }
}

/**
 * SHA-256 and length of a file's bytes (its objects in order), streamed (feature files are tens
 * of MB each).
 */
export async function objectSha256(
  store: S3Store,
  keys: string[],
): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for (const key of keys) {
    for await (const chunk of await store.getStream(key)) {
      h.update(chunk as Buffer);
      bytes += (chunk as Buffer).byteLength;
    }
  }
  return { sha256: h.digest('hex'), bytes };
}
