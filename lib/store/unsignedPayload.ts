/**
 * SigV4 signs a request's body by its SHA-256 unless the request says `UNSIGNED-PAYLOAD`; the SDK
 * hashes every byte array it uploads (bench:main's workers spent about 0.6 CPU-s hashing 311 MB
 * of feature files per run). The hash adds nothing where the transport already protects the
 * body: TLS, or loopback, where nothing sits between client and server. Decided per request from
 * where it actually goes (the SDK may take its endpoint from AWS_ENDPOINT_URL_S3 or a profile):
 * over plain http to another host the body stays signed. The server then no longer checks the
 * body against a hash: behind a proxy that ends TLS, its hop to the store is unchecked.
 */
import type { S3Client } from '@aws-sdk/client-s3';

const SHA256_HEADER = 'x-amz-content-sha256';

/** Whether a request to `hostname` over `protocol` ('https:', 'http:') has its body protected. */
export function transportProtectsBody(protocol: string, hostname: string): boolean {
  if (protocol === 'https:') return true;
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Marks `client`'s requests UNSIGNED-PAYLOAD where their transport protects the body (before
 * signing, which then skips the hash).
 */
export function useUnsignedPayload(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as {
        protocol?: string;
        hostname?: string;
        headers?: Record<string, string>;
      };
      if (r.headers && r.protocol && r.hostname && transportProtectsBody(r.protocol, r.hostname)) {
        r.headers[SHA256_HEADER] = 'UNSIGNED-PAYLOAD';
      }
      return next(args);
    },
    { step: 'build', name: 'tdaUnsignedPayload' },
  );
}
