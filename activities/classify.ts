import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { isTransient } from '../lib/pipeline/buildPlan';

/**
 * Runs an activity's work; a failure that is not transient (network, server) is bad input, which
 * no retry can fix: it fails the workflow at once, non-retryably, with the library's message.
 */
export async function classify<T>(fn: () => Promise<T>, where?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApplicationFailure || isTransient(e)) throw e;
    if (Context.current().cancellationSignal.aborted) throw e;
    const err = e as Error;
    throw ApplicationFailure.nonRetryable(
      // The shard's task, so a fan-out's failure names the shard it came from.
      where ? `${where}: ${err.message}` : err.message,
      err.name === 'SpecError' ? 'SpecError' : 'InputError',
    );
  }
}
