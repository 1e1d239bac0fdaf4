import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  TemporalFailure,
} from '@temporalio/common';
import type { Config } from '../lib/config';

/** The Temporal web UI's page for a workflow on the local dev server. */
export function workflowUrl(config: Config, workflowId: string): string {
  const uiPort = process.env.TDA_TEMPORAL_UI_PORT ?? '8233';
  const host = config.temporal.address.split(':')[0];
  return `http://${host}:${uiPort}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * A failed workflow in one line: the root cause's type and message, where it happened (the
 * activity, the child workflow, which names its shard range) and the Temporal UI link, instead
 * of "Workflow execution failed" with the cause buried in worker logs.
 */
export function failureLine(e: unknown, config: Config, workflowId: string): string {
  const where: string[] = [];
  let root: unknown = e instanceof WorkflowFailedError ? (e.cause ?? e) : e;
  for (;;) {
    if (root instanceof ChildWorkflowFailure) where.push(root.execution.workflowId ?? 'a child');
    if (root instanceof ActivityFailure) where.push(`activity ${root.activityType}`);
    const next = root instanceof TemporalFailure ? root.cause : undefined;
    if (!next || root instanceof ApplicationFailure) break;
    root = next;
  }
  const err = root as { name?: string; message?: string };
  const type = (root instanceof ApplicationFailure && root.type) || err.name || 'Error';
  const message = (err.message ?? String(root)).replace(/\s*\n\s*/g, '; ');
  const at = where.length ? ` (${where.join(', ')})` : '';
  return `workflow ${workflowId} failed: ${type}: ${message}${at}; see ${workflowUrl(config, workflowId)}`;
}

/** Waits for a workflow's result; a failure becomes an Error whose message is its one line. */
export async function workflowResult<T>(handle: WorkflowHandle, config: Config): Promise<T> {
  try {
    return (await handle.result()) as T;
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      throw new WorkflowRunError(failureLine(e, config, handle.workflowId), { cause: e });
    }
    throw e;
  }
}

export class WorkflowRunError extends Error {
  override name = 'WorkflowRunError';
}
