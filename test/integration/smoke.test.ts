import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { smokeVectors } from '../../activities/smoke';
import { sha256 } from '../../lib/store/commit';
import { S3Store } from '../../lib/store/s3Store';
import { connectClient } from '../../workers/connection';
import { smokeWorkflow } from '../../workflows';
import { ensureStack } from '../support/stack';
import { useTestWorker } from '../support/testWorker';

const config = ensureStack();
const taskQueue = useTestWorker(config, 'smoke');

test('smoke workflow: Arrow to S3 and back, zero-copy, through the real Temporal server', async () => {
  const client = await connectClient(config);
  const input = { prefix: `smoke/${randomUUID()}`, rows: 1000, dim: 64, seed: 7 };
  const result = await client.workflow.execute(smokeWorkflow, {
    taskQueue,
    workflowId: `smoke-${randomUUID()}`,
    args: [input],
  });
  const expected = smokeVectors(input.rows, input.dim, input.seed);
  assert.equal(result.rows, 1000);
  assert.equal(result.sha256, sha256(new Uint8Array(expected.buffer)));
  assert.equal(result.zeroCopy, true);
  // The file is really in the bucket, under the committed attempt.
  const store = new S3Store(config.s3);
  assert.ok(result.key.startsWith(`${input.prefix}/_attempts/`));
  assert.equal((await store.get(result.key)).byteLength, result.bytes);
  assert.ok(await store.exists(`${input.prefix}/MANIFEST.json`));
  await client.connection.close();
});
