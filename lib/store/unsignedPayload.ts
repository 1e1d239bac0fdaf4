/**
 * SigV4 signs a request's body by its SHA-256 unless the request says `UNSIGNED-PAYLOAD`; the SDK
 * hashes every byte array it uploads (bench:main's workers spent about 0.6 CPU-s hashing 311 MB
 * of feature files per run, and the server hashes them again to check). The hash adds nothing
 * where the transport already protects the body: TLS (https, AWS S3 itself), or loopback, where
 * nothing sits between client and server. Over plain http to another host the body stays signed.
 */
import type { S3Client } from '@aws-sdk/client-s3';

const SHA256_HEADER = 'x-amz-content-sha256';

/** Whether an endpoint's transport protects a request body (https, or a loopback address). */
export function transportProtectsBody(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return true; // AWS S3: https
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Marks every request of `client` UNSIGNED-PAYLOAD (before signing, which then skips the hash). */
export function useUnsignedPayload(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers[SHA256_HEADER] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'tdaUnsignedPayload' },
  );
}
