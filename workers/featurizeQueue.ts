import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';

/** Backends that run on a GPU: their workers also poll the GPU task queue. */
export function isGpuBackend(backend: string): boolean {
  return backend === 'webgpu' || backend === 'tensorflow-gpu';
}

/** A poller the server reports on a task queue, with when it last polled (ms since epoch). */
export interface PollerSeen {
  lastAccessMs: number | undefined;
}

// Enum values of temporal.api.enums.v1 (from @temporalio/proto, which is not a direct dependency).
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/** Pollers seen this recently count as alive (the server remembers them for minutes). */
export const POLLER_FRESH_MS = 60_000;

/**
 * The decision, pure: featurize on the GPU queue when a worker polled it recently, else on the
 * parent's queue (undefined).
 */
export function decideFeaturizeQueue(
  gpuQueue: string,
  pollers: PollerSeen[],
  nowMs: number,
  freshMs = POLLER_FRESH_MS,
): string | undefined {
  const alive = pollers.some(
    (p) => p.lastAccessMs === undefined || nowMs - p.lastAccessMs <= freshMs,
  );
  return alive ? gpuQueue : undefined;
}

/**
 * Asks the server who polls the GPU queue for activities and decides where featurize goes: pass
 * the result as `featurizeQueue` in the attribute workflow's input.
 */
export async function chooseFeaturizeQueue(
  client: Client,
  config: Config,
  nowMs = Date.now(),
): Promise<string | undefined> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: config.temporal.namespace,
    taskQueue: {
      name: config.taskQueues.gpu,
      kind: TASK_QUEUE_KIND_NORMAL,
    },
    taskQueueType: TASK_QUEUE_TYPE_ACTIVITY,
  });
  const pollers = (res.pollers ?? []).map((p) => {
    const t = p.lastAccessTime;
    return {
      lastAccessMs:
        t?.seconds == null ? undefined : Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6,
    };
  });
  return decideFeaturizeQueue(config.taskQueues.gpu, pollers, nowMs);
}
