import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { connectClient } from '../../workers/connection';
import { chooseFeaturizeQueue } from '../../workers/featurizeQueue';
import { createWorker } from '../../workers/worker';
import { ensureStack } from '../support/stack';

test('featurize is sent to the GPU queue once a worker polls it, not before', async () => {
  const base = ensureStack();
  const config = { ...base, taskQueues: { ...base.taskQueues, gpu: `gpu-${randomUUID()}` } };
  const client = await connectClient(config);
  try {
    assert.equal(await chooseFeaturizeQueue(client, config), undefined);
    const worker = await createWorker(config, { taskQueue: config.taskQueues.gpu, concurrency: 1 });
    const seen = await worker.runUntil(async () => {
      // The server lists a poller once its first long poll arrives.
      for (let i = 0; i < 50; i++) {
        const q = await chooseFeaturizeQueue(client, config);
        if (q) return q;
        await new Promise((r) => setTimeout(r, 100));
      }
      return undefined;
    });
    assert.equal(seen, config.taskQueues.gpu);
  } finally {
    await client.connection.close();
  }
});
