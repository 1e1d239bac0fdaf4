import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { smokeVectors } from '../../activities/smoke';
import { sha256 } from '../../lib/store/commit';
import { connectClient } from '../../workers/connection';
import { createWorker } from '../../workers/worker';
import { smokeWorkflow } from '../../workflows';
import { ensureStack, stack } from '../support/stack';

const config = ensureStack();

test('a workflow started before a Temporal server restart completes after it (SQLite state)', async () => {
  const taskQueue = `restart-${randomUUID()}`;
  const workflowId = `restart-${randomUUID()}`;
  const input = { prefix: `smoke/${randomUUID()}`, rows: 10, dim: 4, seed: 3 };
  let client = await connectClient(config);
  // No worker yet: the workflow waits in the server's persisted state.
  await client.workflow.start(smokeWorkflow, { taskQueue, workflowId, args: [input] });
  await client.connection.close();

  stack('restart', 'temporal');

  client = await connectClient(config);
  const worker = await createWorker(config, { taskQueue, concurrency: 1 });
  const result = await worker.runUntil(client.workflow.getHandle(workflowId).result());
  assert.equal(result.sha256, sha256(new Uint8Array(smokeVectors(10, 4, 3).buffer)));
  await client.connection.close();
});
