import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  RetryState,
  TimeoutFailure,
} from '@temporalio/common';
import { failureLine } from '../../../cli/workflowFailure';
import { loadConfig } from '../../../lib/config';

const config = loadConfig({ TDA_TEMPORAL_UI_PORT: '8233' } as NodeJS.ProcessEnv);

test('a failed fan-out in one line: root type and message, child and activity, UI link', () => {
  const app = ApplicationFailure.nonRetryable(
    'train shard 8, checkpoint 0: part part-00008.arrow of "it/x/train" does not match its manifest hash',
    'InputError',
  );
  const act = new ActivityFailure(
    'Activity task failed',
    'featurizeShard',
    '3',
    RetryState.NON_RETRYABLE_FAILURE,
    'worker@host',
    app,
  );
  const child = new ChildWorkflowFailure(
    'default',
    { workflowId: 'attribute-r-1234-shards-8', runId: 'r' },
    'attributeShards',
    RetryState.NON_RETRYABLE_FAILURE,
    act,
  );
  const e = new WorkflowFailedError(
    'Workflow execution failed',
    child,
    RetryState.NON_RETRYABLE_FAILURE,
  );
  const line = failureLine(e, config, 'attribute-r-1234');
  assert.equal(line.split('\n').length, 1);
  assert.match(
    line,
    /^workflow attribute-r-1234 failed: InputError: train shard 8, checkpoint 0: part part-00008\.arrow .* does not match its manifest hash \(attribute-r-1234-shards-8, activity featurizeShard\); see http:\/\/.*:\d+\/namespaces\/.*\/workflows\/attribute-r-1234$/,
  );
});

test('a multi-line message stays on one line; a timeout names its kind', () => {
  const spec = ApplicationFailure.nonRetryable('invalid run spec:\n  topK: Too small', 'SpecError');
  const act = new ActivityFailure('x', 'planRun', '1', RetryState.NON_RETRYABLE_FAILURE, 'w', spec);
  const line = failureLine(
    new WorkflowFailedError('failed', act, RetryState.NON_RETRYABLE_FAILURE),
    config,
    'w1',
  );
  assert.match(line, /failed: SpecError: invalid run spec:; topK: Too small \(activity planRun\)/);
  const t = new TimeoutFailure(
    'activity StartToClose timeout',
    undefined,
    'START_TO_CLOSE' as never,
  );
  assert.match(
    failureLine(new WorkflowFailedError('failed', t, RetryState.TIMEOUT), config, 'w2'),
    /failed: TimeoutFailure: activity StartToClose timeout;/,
  );
});
