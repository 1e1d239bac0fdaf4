import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { AuditInputError } from '../../lib/audit/auditSpec';
import { ImportInputError } from '../../lib/data/import/inputError';
import { errorMessage, failureKind, InputError, inputStep, isTransient } from '../../lib/failures';
import { SpecError } from '../../lib/pipeline/runSpec';
import { NotFoundError } from '../../lib/store/objectStore';

/** A real socket error: connecting to a port nothing listens on. */
async function refusedConnection(): Promise<Error> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return new Promise((resolve) => connect(port, '127.0.0.1').on('error', resolve));
}

test('store server faults, dropped connections and timeouts are transient', async () => {
  const serverError = new S3ServiceException({
    name: 'InternalError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
    message: 'We encountered an internal error',
  });
  const refused = await refusedConnection();
  assert.equal((refused as { code?: string }).code, 'ECONNREFUSED');
  const dns = Object.assign(new Error('getaddrinfo EAI_AGAIN s3.example'), { code: 'EAI_AGAIN' });
  const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const timeout = Object.assign(new Error('request timed out'), { name: 'TimeoutError' });
  for (const e of [serverError, refused, dns, reset, timeout]) {
    assert.equal(isTransient(e), true, errorMessage(e));
    assert.equal(failureKind(e), 'transient', errorMessage(e));
  }
});

test('a missing object, a bad spec or bad data is not transient: SpecError or InputError', () => {
  // The store's "not found" is the input's problem even when it came from S3 (it has $metadata).
  const notFound = Object.assign(new NotFoundError('s3://tda', 'runs/x/plan.json'), {
    $metadata: { httpStatusCode: 404 },
  });
  assert.equal(isTransient(notFound), false);
  assert.equal(failureKind(notFound), 'InputError');

  assert.equal(failureKind(new SpecError('layers: no layer "dense_9"')), 'SpecError');
  for (const e of [
    new Error('shape mismatch'),
    new TypeError("Cannot read properties of undefined (reading 'rows')"),
    new AuditInputError('data: no batches'),
    new ImportInputError('a.csv row 3 column "x": "abc" is not a number'),
    new InputError('training data: empty'),
    'a thrown string',
    undefined,
    null,
  ]) {
    assert.equal(isTransient(e), false, String(e));
    assert.equal(failureKind(e), 'InputError', String(e));
  }
});

test("errorMessage takes an Error's message and stringifies anything else", () => {
  assert.equal(errorMessage(new Error('boom')), 'boom');
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorMessage(42), '42');
});

test('inputStep names the input of a non-transient failure and keeps transient ones as they are', async () => {
  assert.equal(await inputStep('model', () => 7), 7);
  assert.equal(await inputStep('model', async () => 'ok'), 'ok');

  await assert.rejects(
    inputStep('model at "m/1"', () => {
      throw new Error('model.json is not JSON');
    }),
    (e: unknown) =>
      e instanceof InputError &&
      e.name === 'InputError' &&
      e.message === 'model at "m/1": model.json is not JSON',
  );
  const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  await assert.rejects(
    inputStep('model', async () => {
      throw reset;
    }),
    (e: unknown) => e === reset,
  );
  // Nested steps: the inner step's name is kept, not prefixed twice.
  await assert.rejects(
    inputStep('outer', () =>
      inputStep('inner', () => {
        throw new Error('bad');
      }),
    ),
    (e: unknown) => e instanceof InputError && e.message === 'inner: bad',
  );
});
