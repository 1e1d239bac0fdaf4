import type { Duration } from '@temporalio/common';
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { boundedForEach } from './boundedForEach';
import { DEFAULT_HEARTBEAT_TIMEOUT, shardActivity } from './definitions';

export interface SelfScoreShardsInput {
  planKey: string;
  start: number;
  end: number;
  window: number;
  heartbeatTimeout?: Duration;
}

/**
 * One range of training shards' influence self-scores (given the run's factored curvature), with
 * at most `window` in flight: a child per range keeps every history bounded, as attributeShards.
 */
export async function selfScoreShards(input: SelfScoreShardsInput): Promise<void> {
  const heartbeatTimeout = input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
  const { selfScoreShard } = proxyActivities<Activities>(shardActivity(heartbeatTimeout));
  const next = await boundedForEach(
    input.start,
    input.end,
    input.window,
    (shard) => selfScoreShard({ planKey: input.planKey, shard }),
    () => workflowInfo().continueAsNewSuggested,
  );
  if (next < input.end) await continueAsNew<typeof selfScoreShards>({ ...input, start: next });
}
