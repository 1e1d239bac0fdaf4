import { fileURLToPath } from 'node:url';
import type { Config } from '../config';
import { FsStore } from './fsStore';
import type { ObjectStore } from './objectStore';
import { S3Store } from './s3Store';

/**
 * Opens a store from a URI: `file:///abs/path`, a plain local path, `s3://bucket/prefix`, or
 * nothing (the configured bucket).
 */
export function openStore(config: Config, uri?: string): ObjectStore {
  if (!uri) return new S3Store(config.s3);
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    return new S3Store({ ...config.s3, bucket }, prefix);
  }
  if (uri.startsWith('file://')) return new FsStore(fileURLToPath(uri));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new Error(`unsupported store URI "${uri}"`);
  return new FsStore(uri);
}
