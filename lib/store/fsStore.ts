import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkKey, NotFoundError, type ObjectStore } from './objectStore';

/** The local-filesystem store, for file:// URIs and single-machine use. */
export class FsStore implements ObjectStore {
  readonly uri: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.uri = pathToFileURL(this.root).href;
  }

  private path(key: string): string {
    return join(this.root, checkKey(key));
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    // Write then rename, so a reader never sees a half-written object (rename is atomic on POSIX).
    const tmp = `${path}.${randomUUID()}.partial`;
    await writeFile(tmp, body);
    await rename(tmp, path);
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const buf = await readFile(this.path(key));
      // A fresh, aligned Uint8Array, as the S3 store returns, so Arrow reads it zero-copy.
      const out = new Uint8Array(buf.byteLength);
      out.set(buf);
      return out;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(this.uri, key);
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(join(dir, e.name), r);
        else if (!e.name.endsWith('.partial') && r.startsWith(prefix)) out.push(r);
      }
    };
    // Start from the deepest directory the prefix names, so listing a run does not walk the store.
    const slash = prefix.lastIndexOf('/');
    const base = slash >= 0 ? prefix.slice(0, slash) : '';
    await walk(base ? join(this.root, base) : this.root, base);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const to = this.path(toKey);
    await mkdir(dirname(to), { recursive: true });
    try {
      await copyFile(this.path(fromKey), to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(this.uri, fromKey);
      throw e;
    }
  }
}
