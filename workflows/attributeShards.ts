import type { Duration } from '@temporalio/common';
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { boundedForEach } from './boundedForEach';
import {
  DEFAULT_HEARTBEAT_TIMEOUT,
  queriesCommittedSignal,
  shardActivity,
  shardDoneSignal,
} from './definitions';

export interface AttributeShardsInput {
  planKey: string;
  start: number;
  end: number;
  window: number;
  featurizeQueue: string;
  checkpoints: number;
  /** Activity heartbeat timeout (the parent's); default DEFAULT_HEARTBEAT_TIMEOUT. */
  heartbeatTimeout?: Duration;
  /**
   * Started while the parent featurized the queries: no shard is scored by its score step before
   * queriesCommittedSignal comes (a shard's featurize scores from memory once they are committed).
   */
  queriesPending?: boolean;
}

/**
 * One range of training shards: for each shard, featurize every checkpoint then score it against
 * the queries, with at most `window` shards in flight. Continues as new when the history grows.
 */
export async function attributeShards(input: AttributeShardsInput): Promise<void> {
  const heartbeatTimeout = input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
  const { scoreShard } = proxyActivities<Activities>(shardActivity(heartbeatTimeout));
  const featurize = proxyActivities<Activities>(
    shardActivity(heartbeatTimeout, input.featurizeQueue),
  ).featurizeShard;
  const { checkpoints } = input;
  const parent = workflowInfo().parent;
  let queriesCommitted = !input.queriesPending;
  setHandler(queriesCommittedSignal, () => {
    queriesCommitted = true;
  });

  const runShard = async (shard: number): Promise<void> => {
    // One activity for every checkpoint: the shard's rows are read once, each checkpoint's
    // commit overlaps the next one's compute, and the history holds a third of the events.
    const all = Array.from({ length: checkpoints }, (_, c) => c);
    // `score`: the featurize scores the shard from memory where it can (lib/pipeline/
    // scoreFromMemory.ts); where it did not, the score step reads the files.
    const task = { planKey: input.planKey, set: 'train' as const, shard, checkpoints: all };
    const f = await featurize({ ...task, score: true });
    if (!f.scored) await condition(() => queriesCommitted);
    const scored = f.scored ? f : await scoreShard({ planKey: input.planKey, shard });
    if (parent)
      await getExternalWorkflowHandle(parent.workflowId).signal(shardDoneSignal, scored.rows);
  };

  const next = await boundedForEach(
    input.start,
    input.end,
    input.window,
    runShard,
    () => workflowInfo().continueAsNewSuggested,
  );
  if (next < input.end) {
    await continueAsNew<typeof attributeShards>({
      ...input,
      start: next,
      queriesPending: !queriesCommitted,
    });
  }
}
