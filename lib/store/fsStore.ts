import { createHash, randomUUID } from 'node:crypto';
import {
  appendFile,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  checkKey,
  NoSuchUploadError,
  NotFoundError,
  type ObjectStore,
  type UploadedPart,
} from './objectStore';

/** The local-filesystem store, for file:// URIs and single-machine use. */
export class FsStore implements ObjectStore {
  readonly uri: string;
  private readonly root: string;

  /**
   * A filesystem has no minimum part size; a test can set S3's (S3_MIN_PART_BYTES) to exercise
   * the code that must respect it.
   */
  constructor(
    root: string,
    readonly minPartBytes = 0,
  ) {
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

  async getStream(key: string): Promise<Readable> {
    const path = this.path(key);
    // Open first so that a missing file fails here, not on the stream's first read.
    const handle = await open(path).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new NotFoundError(this.uri, key) : e;
    });
    return handle.createReadStream();
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

  // An upload is a marker file beside the target plus one file per part, all ending in
  // ".partial" so list() never shows them; complete() joins the parts and renames atomically.
  private uploadPath(key: string, uploadId: string, part?: number): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) {
      throw new NoSuchUploadError(this.uri, key, uploadId);
    }
    return `${this.path(key)}.${uploadId}.${part ?? 'upload'}.partial`;
  }

  private async checkUpload(key: string, uploadId: string): Promise<void> {
    try {
      await stat(this.uploadPath(key, uploadId));
    } catch {
      throw new NoSuchUploadError(this.uri, key, uploadId);
    }
  }

  /** The upload's files in the target's directory, by name. */
  private async uploadFiles(key: string, uploadId: string): Promise<string[]> {
    const path = this.path(key);
    const prefix = `${basename(path)}.${uploadId}.`;
    try {
      return (await readdir(dirname(path)))
        .filter((n) => n.startsWith(prefix))
        .map((n) => join(dirname(path), n));
    } catch {
      return [];
    }
  }

  async createUpload(key: string): Promise<string> {
    const uploadId = randomUUID();
    const marker = this.uploadPath(key, uploadId);
    await mkdir(dirname(marker), { recursive: true });
    await writeFile(marker, '');
    return uploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<string> {
    await this.checkUpload(key, uploadId);
    const path = this.uploadPath(key, uploadId, partNumber);
    const tmp = `${path}.${randomUUID()}.partial`;
    await writeFile(tmp, body);
    await rename(tmp, path);
    return etagOf(body);
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    await this.checkUpload(key, uploadId);
    const out: UploadedPart[] = [];
    for (const file of await this.uploadFiles(key, uploadId)) {
      const m = /\.(\d+)\.partial$/.exec(file);
      if (!m) continue;
      out.push({ partNumber: Number(m[1]), etag: etagOf(await readFile(file)) });
    }
    return out.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    await this.checkUpload(key, uploadId);
    const path = this.path(key);
    const tmp = `${path}.${randomUUID()}.partial`;
    await writeFile(tmp, '');
    try {
      for (const [i, p] of parts.entries()) {
        const bytes = await readFile(this.uploadPath(key, uploadId, p.partNumber)).catch(
          () => undefined,
        );
        if (!bytes || etagOf(bytes) !== p.etag) {
          throw new Error(
            `part ${p.partNumber} of upload "${uploadId}" for "${key}" does not match its ETag`,
          );
        }
        if (i < parts.length - 1 && bytes.byteLength < this.minPartBytes) {
          throw new Error(
            `part ${p.partNumber} of "${key}" is ${bytes.byteLength} bytes, under the minimum ${this.minPartBytes}`,
          );
        }
        await appendFile(tmp, bytes);
      }
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await this.abortUpload(key, uploadId);
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    for (const file of await this.uploadFiles(key, uploadId)) await rm(file, { force: true });
  }
}

/** A part's ETag as S3 forms it for a single-part body: the quoted hex MD5. */
function etagOf(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}
