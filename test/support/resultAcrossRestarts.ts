import { setTimeout as sleep } from 'node:timers/promises';
import {
  WorkflowFailedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Workflow, WorkflowResultType } from '@temporalio/common';

/**
 * handle.result(), riding out a Temporal server that is restarting: the long poll fails while the
 * server is down and is made again. A failed or unknown workflow still throws at once; polls
 * failing for `ms` in a row throw the last error. A poll that had been waiting longer than that
 * before it failed starts a new count (a later restart, not the same outage).
 */
export async function resultAcrossRestarts<T extends Workflow>(
  handle: WorkflowHandle<T>,
  ms = 90_000,
): Promise<WorkflowResultType<T>> {
  let since: number | undefined;
  for (;;) {
    const polled = Date.now();
    try {
      return await handle.result();
    } catch (e) {
      if (e instanceof WorkflowFailedError || e instanceof WorkflowNotFoundError) throw e;
      if (since === undefined || Date.now() - polled > ms) since = polled;
      if (Date.now() - since > ms) throw e;
      await sleep(500);
    }
  }
}
