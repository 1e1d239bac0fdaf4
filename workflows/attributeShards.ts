import type { Duration } from '@temporalio/common';
import {
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { shardDoneSignal as ShardDoneSignal } from './attribute';
import { boundedForEach } from './boundedForEach';

export interface AttributeShardsInput {
  planKey: string;
  start: number;
  end: number;
  window: number;
  featurizeQueue: string;
  checkpoints: number;
  /** Activity heartbeat timeout (the parent's); default 2 minutes. */
  heartbeatTimeout?: Duration;
}

/**
 * One range of training shards: for each shard, featurize every checkpoint then score it against
 * the queries, with at most `window` shards in flight. Continues as new when the history grows.
 */
export async function attributeShards(input: AttributeShardsInput): Promise<void> {
  const heartbeatTimeout = input.heartbeatTimeout ?? '2 minutes';
  const retry = { maximumAttempts: 20, nonRetryableErrorTypes: ['SpecError', 'InputError'] };
  const { scoreShard } = proxyActivities<Activities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout,
    retry,
  });
  const featurize = proxyActivities<Activities>({
    taskQueue: input.featurizeQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout,
    retry,
  }).featurizeShard;
  const { checkpoints } = input;
  const parent = workflowInfo().parent;
  const shardDone = 'shardDone' as unknown as typeof ShardDoneSignal;

  const runShard = async (shard: number): Promise<void> => {
    const feats = [];
    for (let c = 0; c < checkpoints; c++) {
      feats.push(featurize({ planKey: input.planKey, set: 'train', shard, checkpoint: c }));
    }
    await Promise.all(feats);
    const scored = await scoreShard({ planKey: input.planKey, shard });
    if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(shardDone, scored.rows);
  };

  const next = await boundedForEach(
    input.start,
    input.end,
    input.window,
    runShard,
    () => workflowInfo().continueAsNewSuggested,
  );
  if (next < input.end) await continueAsNew<typeof attributeShards>({ ...input, start: next });
}
