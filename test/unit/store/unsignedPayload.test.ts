import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Store } from '../../../lib/store/s3Store';
import { transportProtectsBody } from '../../../lib/store/unsignedPayload';

test('a body goes unsigned only over https or loopback', () => {
  const protects = (u: string) => {
    const url = new URL(u);
    return transportProtectsBody(url.protocol, url.hostname);
  };
  for (const e of [
    'https://s3.example.com',
    'http://127.0.0.1:8333',
    'http://127.1.2.3',
    'http://localhost:9000',
    'http://[::1]:8333',
  ]) {
    assert.equal(protects(e), true, e);
  }
  for (const e of [
    'http://s3.example.com',
    'http://10.0.0.5:8333',
    'http://127.evil.com',
    'http://127.0.0.1.evil.com',
    'http://localhost.evil.com',
  ]) {
    assert.equal(protects(e), false, e);
  }
});

const BODY = new Uint8Array(1000).fill(7);

/** The signed request as it would leave: captured after signing, then stopped before sending. */
async function signedHeaders(endpoint: string | undefined): Promise<Record<string, string>> {
  const store = new S3Store({
    endpoint,
    region: 'us-east-1',
    bucket: 'b',
    accessKeyId: 'k',
    secretAccessKey: 's',
    forcePathStyle: true,
  });
  let headers: Record<string, string> = {};
  const stop = new Error('captured');
  store.client.middlewareStack.add(
    () => async (args) => {
      headers = { ...(args.request as { headers: Record<string, string> }).headers };
      throw stop;
    },
    { step: 'finalizeRequest', priority: 'low', name: 'capture' },
  );
  await assert.rejects(
    store.client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: BODY })),
    (e) => e === stop,
  );
  return headers;
}

test('S3Store signs an upload without hashing it over loopback or https, with its hash elsewhere', async () => {
  const sha = createHash('sha256').update(BODY).digest('hex');
  const loop = await signedHeaders('http://127.0.0.1:1');
  assert.equal(loop['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.match(loop.authorization, /x-amz-content-sha256/, 'the header itself is signed');
  assert.equal((await signedHeaders(undefined))['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.equal((await signedHeaders('http://s3.example.com'))['x-amz-content-sha256'], sha);
  // No endpoint in the config, but the SDK's own setting sends it over plain http elsewhere.
  process.env.AWS_ENDPOINT_URL_S3 = 'http://s3.example.com:9000';
  try {
    assert.equal((await signedHeaders(undefined))['x-amz-content-sha256'], sha);
  } finally {
    delete process.env.AWS_ENDPOINT_URL_S3;
  }
});
