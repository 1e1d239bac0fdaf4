import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../../lib/config';
import {
  chooseFeaturizeQueue,
  decideFeaturizeQueue,
  isGpuBackend,
  POLLER_FRESH_MS,
} from '../../../workers/featurizeQueue';

test('featurize goes to the GPU queue only while a poller was seen recently', () => {
  const now = 1_000_000_000;
  assert.equal(decideFeaturizeQueue('gpu', [], now), undefined);
  assert.equal(decideFeaturizeQueue('gpu', [{ lastAccessMs: now - 1000 }], now), 'gpu');
  assert.equal(
    decideFeaturizeQueue('gpu', [{ lastAccessMs: now - POLLER_FRESH_MS - 1 }], now),
    undefined,
  );
  assert.equal(
    decideFeaturizeQueue(
      'gpu',
      [{ lastAccessMs: now - 10 * POLLER_FRESH_MS }, { lastAccessMs: now }],
      now,
    ),
    'gpu',
  );
  // No timestamp from the server: it listed the poller, so trust it.
  assert.equal(decideFeaturizeQueue('gpu', [{ lastAccessMs: undefined }], now), 'gpu');
});

test('only GPU backends poll the GPU queue', () => {
  assert.equal(isGpuBackend('webgpu'), true);
  assert.equal(isGpuBackend('wasm'), false);
  assert.equal(isGpuBackend('cpu'), false);
});

test('chooseFeaturizeQueue asks the server about the configured GPU queue, for activities', async () => {
  const config = loadConfig({ TDA_TASK_QUEUE_GPU: 'my-gpu' });
  const now = 1_700_000_000_000;
  const calls: unknown[] = [];
  const fake = (pollers: unknown[]) =>
    ({
      workflowService: {
        describeTaskQueue: async (req: unknown) => {
          calls.push(req);
          return { pollers };
        },
      },
    }) as unknown as Client;
  const at = (ms: number) => ({ lastAccessTime: { seconds: Math.floor(ms / 1000), nanos: 0 } });
  assert.equal(await chooseFeaturizeQueue(fake([]), config, now), undefined);
  assert.equal(await chooseFeaturizeQueue(fake([at(now - 5000)]), config, now), 'my-gpu');
  assert.equal(await chooseFeaturizeQueue(fake([at(now - 3_600_000)]), config, now), undefined);
  assert.deepEqual(calls[0], {
    namespace: 'default',
    taskQueue: { name: 'my-gpu', kind: 1 },
    taskQueueType: 2,
  });
});
