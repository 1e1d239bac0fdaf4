import { createHash } from 'node:crypto';
import { concatBytes } from '../bytes';
import { sha256 } from './commit';
import {
  NoSuchUploadError,
  NotFoundError,
  type ObjectStore,
  type UploadedPart,
} from './objectStore';

/** What a retry needs to carry on a ChunkedUpload (small: it rides in heartbeat details). */
export interface ChunkedUploadState {
  /** Chunks saved so far, in uploaded parts or as pending objects. */
  chunks: number;
  uploadId?: string;
  parts: (UploadedPart & { bytes: number; sha256: string })[];
  /** Chunks inside the uploaded parts; chunks [inParts, chunks) are pending objects. */
  inParts: number;
}

/**
 * One file written as an ordered sequence of chunks, resumable after any chunk, each byte sent
 * once where it can be. Chunks are gathered into multipart-upload parts of at least the store's
 * minimum part size (S3: 5 MiB); a chunk still waiting for its part is also saved as a small
 * object of its own, so a retry can pick it up. A file that never fills a part is those saved
 * chunks and its tail as pieces (no byte sent again; readers join them), or one put when it is
 * only the tail. Nothing is complete until finish().
 *
 * Pending objects are deleted only by finish() once in a part: a retry may resume from a
 * heartbeat older than the last flush, and must still find the chunks that heartbeat names.
 */
export class ChunkedUpload {
  private pending: Uint8Array[] = [];
  /** Pending objects this upload wrote (chunk numbers): deleted by key, with no listing. */
  private written: number[] = [];

  private constructor(
    private readonly store: ObjectStore,
    readonly key: string,
    private st: ChunkedUploadState,
    /** Chunks recovered from an earlier attempt. */
    readonly resumedChunks: number,
    /** Opened with an earlier attempt's state (even one that could not be resumed). */
    private readonly resumed = false,
  ) {}

  /**
   * Starts an upload, or carries on the one `resume` describes. When what it describes is gone
   * (upload aborted or expired, a pending object deleted), it starts afresh.
   */
  static async open(
    store: ObjectStore,
    key: string,
    resume?: ChunkedUploadState,
  ): Promise<ChunkedUpload> {
    const fresh = () =>
      new ChunkedUpload(store, key, { chunks: 0, parts: [], inParts: 0 }, 0, resume !== undefined);
    if (!resume || resume.chunks === 0) return fresh();
    try {
      if (resume.uploadId) {
        const held = new Map(
          (await store.listParts(key, resume.uploadId)).map((p) => [p.partNumber, p.etag]),
        );
        if (resume.parts.some((p) => held.get(p.partNumber) !== p.etag)) return fresh();
      } else if (resume.parts.length > 0) {
        return fresh();
      }
      const up = new ChunkedUpload(store, key, structuredClone(resume), resume.chunks, true);
      for (let k = resume.inParts; k < resume.chunks; k++) {
        up.pending.push(await store.get(pendingKey(key, k)));
      }
      return up;
    } catch (e) {
      if (e instanceof NoSuchUploadError || e instanceof NotFoundError) return fresh();
      throw e;
    }
  }

  get state(): ChunkedUploadState {
    return structuredClone(this.st);
  }

  /** Saves the next chunk: in a part once enough have gathered, else as a pending object. */
  async append(chunk: Uint8Array): Promise<void> {
    const k = this.st.chunks;
    this.pending.push(chunk);
    const bytes = this.pending.reduce((s, p) => s + p.byteLength, 0);
    if (bytes >= this.store.minPartBytes && bytes > 0) {
      await this.uploadPart(concatBytes(this.pending));
      this.st.inParts = k + 1;
      this.pending = [];
    } else {
      await this.store.put(pendingKey(this.key, k), chunk);
      this.written.push(k);
    }
    this.st.chunks = k + 1;
  }

  /**
   * Writes `tail` as the last bytes and returns the finished file. An object that filled a part
   * is completed at the key; one that never did is one put when nothing was saved before the
   * tail, else its saved chunks and the tail are its `pieces` (nothing at the key: readers join
   * them, lib/store/commit.ts readCommittedFile), each sent once.
   */
  async finish(tail: Uint8Array): Promise<FinishedUpload> {
    if (!this.st.uploadId && this.pending.length === 0) {
      await this.store.put(this.key, tail);
      return { bytes: tail.byteLength, sha256: sha256(tail) };
    }
    if (!this.st.uploadId) {
      // The saved chunks and the tail are the file. Pending objects of earlier attempts at this
      // key are these same pieces (same chunks, same numbers).
      const k = this.st.chunks;
      await this.store.put(pendingKey(this.key, k), tail);
      const pieces = [...this.pending, tail];
      return {
        bytes: pieces.reduce((s, p) => s + p.byteLength, 0),
        sha256: digestOfDigests(pieces.map((p) => sha256(p))),
        pieces: Array.from({ length: k + 1 }, (_, i) => pendingKey(this.key, i)),
      };
    }
    await this.uploadPart(concatBytes([...this.pending, tail]));
    const { uploadId, parts } = this.st;
    await this.store.completeUpload(this.key, uploadId, parts);
    await this.deletePending();
    return {
      bytes: parts.reduce((s, p) => s + p.bytes, 0),
      sha256: digestOfDigests(parts.map((p) => p.sha256)),
      parts: parts.length,
    };
  }

  /** Drops the multipart upload and the pending objects (a failed or cancelled attempt). */
  async abort(): Promise<void> {
    if (this.st.uploadId) await this.store.abortUpload(this.key, this.st.uploadId);
    await this.deletePending();
  }

  /**
   * Every pending object, also those of chunks since sent in a part. A resumed upload lists them
   * (earlier attempts at this key wrote some); a fresh one deletes those it wrote, or none.
   */
  private async deletePending(): Promise<void> {
    const keys = this.resumed
      ? await this.store.list(pendingKey(this.key, ''))
      : this.written.map((k) => pendingKey(this.key, k));
    await Promise.all(keys.map((k) => this.store.delete(k)));
    this.written = [];
  }

  private async uploadPart(body: Uint8Array): Promise<void> {
    this.st.uploadId ??= await this.store.createUpload(this.key);
    const partNumber = this.st.parts.length + 1;
    const etag = await this.store.uploadPart(this.key, this.st.uploadId, partNumber, body);
    this.st.parts.push({ partNumber, etag, bytes: body.byteLength, sha256: sha256(body) });
  }
}

/** What finish() made: the file's size, digest and how it is stored (CommittedFile). */
export interface FinishedUpload {
  bytes: number;
  sha256: string;
  parts?: number;
  pieces?: string[];
}

/** SHA-256 of hex SHA-256 digests, in order: a file's digest from its parts' or pieces'. */
function digestOfDigests(digests: string[]): string {
  const h = createHash('sha256');
  for (const d of digests) h.update(Buffer.from(d, 'hex'));
  return h.digest('hex');
}

export function pendingKey(key: string, chunk: number | ''): string {
  return `${key}.chunk-${chunk}`;
}
