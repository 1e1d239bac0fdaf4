import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Config } from '../config';
import {
  checkKey,
  NoSuchUploadError,
  NotFoundError,
  type ObjectStore,
  S3_MIN_PART_BYTES,
  type UploadedPart,
} from './objectStore';
import { useUnsignedPayload } from './unsignedPayload';

/** Objects above this go up as a multipart upload (S3's minimum part is 5 MiB). */
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;

export function s3ClientConfig(s3: Config['s3'], maxAttempts = 5): S3ClientConfig {
  // Every S3 client is built from this config, so this is the one place that silences the SDK's
  // four-line "versions published after January 2027 will require node >=22" warning, printed
  // once per process (each command, each worker): the project runs the Node it installs and
  // pins the SDK's version, so the warning has nothing to tell its users. A user's own setting
  // wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // Bounded retries with the SDK's backoff; beyond them the caller (a Temporal activity) retries.
    maxAttempts,
    // S3-compatible servers differ in support for the SDK's default CRC checksums (notes/s3.md).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** A client for `s3`: its config, and unsigned bodies where the transport protects them. */
export function s3Client(s3: Config['s3']): S3Client {
  const client = new S3Client(s3ClientConfig(s3));
  useUnsignedPayload(client);
  return client;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404
  );
}

/** An S3 (or S3-compatible) bucket, optionally under a key prefix. */
export class S3Store implements ObjectStore {
  readonly uri: string;
  readonly minPartBytes = S3_MIN_PART_BYTES;
  readonly client: S3Client;

  constructor(
    s3: Config['s3'],
    private readonly prefix = '',
    client?: S3Client,
  ) {
    this.client = client ?? s3Client(s3);
    this.bucket = s3.bucket;
    if (prefix && !prefix.endsWith('/')) this.prefix = `${prefix}/`;
    this.uri = `s3://${s3.bucket}/${this.prefix}`;
  }

  private readonly bucket: string;

  private key(key: string): string {
    return this.prefix + checkKey(key);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    if (bytes.byteLength > MULTIPART_THRESHOLD) {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.key(key), Body: bytes },
        partSize: PART_SIZE,
        queueSize: 4,
      });
      await upload.done();
      return;
    }
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: bytes }),
    );
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
      );
      if (!res.Body) throw new Error(`empty body for "${key}" in ${this.uri}`);
      return await res.Body.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(this.uri, key);
      throw e;
    }
  }

  async getStream(key: string): Promise<Readable> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
      );
      if (!(res.Body instanceof Readable))
        throw new Error(`no body stream for "${key}" in ${this.uri}`);
      return res.Body;
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(this.uri, key);
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ContinuationToken: token,
        }),
      );
      for (const o of res.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.key(toKey),
          CopySource: encodeURIComponent(`${this.bucket}/${this.key(fromKey)}`),
        }),
      );
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(this.uri, fromKey);
      throw e;
    }
  }

  async createUpload(key: string): Promise<string> {
    const res = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(key) }),
    );
    if (!res.UploadId) throw new Error(`no upload id for "${key}" from ${this.uri}`);
    return res.UploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<string> {
    try {
      const res = await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
        }),
      );
      if (!res.ETag) throw new Error(`no ETag for part ${partNumber} of "${key}" from ${this.uri}`);
      return res.ETag;
    } catch (e) {
      if (isNoSuchUpload(e)) throw new NoSuchUploadError(this.uri, key, uploadId);
      throw e;
    }
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const out: UploadedPart[] = [];
    let marker: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: this.key(key),
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        );
        for (const p of res.Parts ?? []) {
          if (p.PartNumber && p.ETag) out.push({ partNumber: p.PartNumber, etag: p.ETag });
        }
        marker = res.IsTruncated ? res.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (e) {
      if (isNoSuchUpload(e)) throw new NoSuchUploadError(this.uri, key, uploadId);
      throw e;
    }
    return out.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          UploadId: uploadId,
          MultipartUpload: {
            Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
          },
        }),
      );
    } catch (e) {
      if (isNoSuchUpload(e)) throw new NoSuchUploadError(this.uri, key, uploadId);
      throw e;
    }
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          UploadId: uploadId,
        }),
      );
    } catch (e) {
      if (!isNoSuchUpload(e)) throw e;
    }
  }
}

function isNoSuchUpload(e: unknown): boolean {
  return (e as { name?: string }).name === 'NoSuchUpload';
}
