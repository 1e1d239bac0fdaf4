import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Store } from '../../../lib/store/s3Store';
import { transportProtectsBody } from '../../../lib/store/unsignedPayload';

test('a body goes unsigned only over https or loopback', () => {
  for (const e of [
    undefined,
    'https://s3.example.com',
    'http://127.0.0.1:8333',
    'http://127.1.2.3',
    'http://localhost:9000',
    'http://[::1]:8333',
  ]) {
    assert.equal(transportProtectsBody(e), true, String(e));
  }
  for (const e of [
    'http://s3.example.com',
    'http://10.0.0.5:8333',
    'http://127.evil.com',
    'nope',
  ]) {
    assert.equal(transportProtectsBody(e), false, e);
  }
});

/** The signed request as it would leave: captured after signing, then stopped before sending. */
async function signedHeaders(endpoint: string): Promise<Record<string, string>> {
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
  const body = new Uint8Array(1000).fill(7);
  await assert.rejects(
    store.client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body })),
    (e) => e === stop,
  );
  return headers;
}

test('S3Store signs an upload without hashing it over loopback, with its hash elsewhere', async () => {
  const loop = await signedHeaders('http://127.0.0.1:1');
  assert.equal(loop['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.match(loop.authorization, /x-amz-content-sha256/, 'the header itself is signed');
  const remote = await signedHeaders('http://s3.example.com');
  // SHA-256 of 1,000 bytes of 7: the body signed as before.
  assert.match(remote['x-amz-content-sha256'], /^[0-9a-f]{64}$/);
});
