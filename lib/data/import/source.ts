import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../../config';
import type { ObjectStore } from '../../store/objectStore';
import { openStore } from '../../store/openStore';
import { ImportInputError } from './inputError';

/**
 * One input file, on local disk or in an S3 bucket. Readers stream it (`stream`), or, for
 * formats that need random access to a footer (Parquet, Arrow IPC file), read it from a local
 * path (`localPath`: an S3 object is first streamed to a temporary file).
 */
export interface SourceFile {
  /** The file as the user would name it: a local path or s3://bucket/key. */
  readonly name: string;
  /** Path relative to the location given (a folder's or prefix's files), '/'-separated. */
  readonly relative: string;
  stream(): Promise<Readable>;
  bytes(): Promise<Uint8Array>;
  /** A local path to the bytes; `release` removes a temporary copy. */
  localPath(): Promise<{ path: string; release: () => Promise<void> }>;
}

export interface Source {
  /** The location as given. */
  readonly location: string;
  /** true when the location is a folder or a prefix (its files, sorted), false for one file. */
  readonly isFolder: boolean;
  readonly files: SourceFile[];
}

function localFile(path: string, rel: string): SourceFile {
  return {
    name: path,
    relative: rel,
    stream: async () => (await open(path)).createReadStream({ highWaterMark: 1 << 20 }),
    bytes: async () => new Uint8Array(await readFile(path)),
    localPath: async () => ({ path, release: async () => {} }),
  };
}

function storeFile(store: ObjectStore, key: string, rel: string, uri: string): SourceFile {
  return {
    name: uri,
    relative: rel,
    stream: () => store.getStream(key),
    bytes: () => store.get(key),
    async localPath() {
      const dir = await mkdtemp(join(tmpdir(), 'tda-import-'));
      const path = join(dir, key.split('/').pop() || 'object');
      await pipeline(await store.getStream(key), createWriteStream(path));
      return { path, release: () => rm(dir, { recursive: true, force: true }) };
    },
  };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * The object at `key` in a store, or else the objects under `key/` (hidden and `_` names skipped).
 * `uri` names a key as the user would (s3://bucket/key).
 */
export async function openStoreSource(
  store: ObjectStore,
  key: string,
  location: string,
  uri: (key: string) => string,
): Promise<Source> {
  if (key && !location.endsWith('/') && (await store.exists(key))) {
    return {
      location,
      isFolder: false,
      files: [storeFile(store, key, key.split('/').pop()!, uri(key))],
    };
  }
  const base = key ? `${key}/` : '';
  const keys = (await store.list(base)).filter((k) =>
    k
      .slice(base.length)
      .split('/')
      .every((p) => !p.startsWith('.') && !p.startsWith('_')),
  );
  if (keys.length === 0) throw new ImportInputError(`${location}: no such object or prefix`);
  return {
    location,
    isFolder: true,
    files: keys.map((k) => storeFile(store, k, k.slice(base.length), uri(k))),
  };
}

/**
 * Resolves FILE, DIR or s3://bucket/prefix to its files. An S3 location is a file when an object
 * has exactly that key, else the prefix's objects. Hidden files and `_`-names (_SUCCESS markers,
 * _attempts) are skipped, as Spark and Hive writers expect.
 */
export async function openSource(location: string, config?: Config): Promise<Source> {
  if (location.startsWith('s3://')) {
    if (!config) throw new Error(`reading ${location} needs the S3 configuration`);
    const rest = location.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    return openStoreSource(
      openStore(config, `s3://${bucket}`),
      key,
      location,
      (k) => `s3://${bucket}/${k}`,
    );
  }
  const path = resolve(location);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch {
    throw new ImportInputError(`${location}: no such file or folder`);
  }
  if (st.isFile()) return { location, isFolder: false, files: [localFile(path, location)] };
  const files = await walk(path);
  if (files.length === 0) throw new ImportInputError(`${location}: the folder has no files`);
  return {
    location,
    isFolder: true,
    files: files.map((f) => localFile(f, relative(path, f).split(sep).join('/'))),
  };
}
