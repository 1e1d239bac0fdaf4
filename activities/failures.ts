import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { errorMessage, failureKind } from '../lib/failures';

/**
 * Runs an activity's work under the one failure rule (lib/failures.ts): a transient failure is
 * thrown as it is and retried; any other is bad input, which no retry can fix, and fails the
 * workflow at once, non-retryably, as a SpecError or InputError with the library's message
 * (after `where`, so a fan-out's failure names the shard or input it came from).
 */
export async function classifyFailures<T>(fn: () => Promise<T> | T, where?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApplicationFailure) throw e;
    const kind = failureKind(e);
    if (kind === 'transient' || Context.current().cancellationSignal.aborted) throw e;
    throw ApplicationFailure.nonRetryable(
      where ? `${where}: ${errorMessage(e)}` : errorMessage(e),
      kind,
    );
  }
}

/** A problem with the input found by the activity itself: fails the workflow at once. */
export function inputFailure(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'InputError');
}
