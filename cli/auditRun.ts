import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { AuditInput } from '../lib/audit/auditSpec';
import type { AuditSummary } from '../lib/audit/reportAudit';
import type { Config } from '../lib/config';
import { audit } from '../workflows';
import { type AuditProgress, auditProgressQuery } from '../workflows/definitions';
import { workflowResult, workflowUrl } from './workflowFailure';

/**
 * Starts one audit workflow now (what a schedule's trigger runs) and waits for it, saying each
 * stage as it begins.
 */
export async function runAudit(
  config: Config,
  client: Client,
  input: AuditInput,
  log: (msg: string) => void = console.log,
): Promise<{ summary: AuditSummary; workflowId: string; seconds: number }> {
  const workflowId = `audit-run-${input.name}-${randomUUID().slice(0, 8)}`;
  const handle = await client.workflow.start(audit, {
    taskQueue: config.taskQueues.cpu,
    workflowId,
    args: [{ audit: input }],
  });
  log(`workflow ${workflowId}: ${workflowUrl(config, workflowId)}`);
  const t0 = performance.now();
  let finished = false;
  let stage: AuditProgress['stage'] | undefined;
  const poll = (async () => {
    while (!finished) {
      try {
        const p = await handle.query(auditProgressQuery);
        if (p.stage !== stage && p.stage !== 'done') {
          stage = p.stage;
          const counts =
            p.stage === 'featurize'
              ? ` (${p.pending} feature files to compute, ${p.reused} reused)`
              : p.stage === 'parts' && p.parts !== undefined
                ? ` (${p.partsPending ?? 0} of ${p.parts} parts to self-score)`
                : '';
          log(
            `  audit stage: ${p.stage}${counts} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
          );
        }
      } catch {
        // The first workflow task may not have run yet: nothing to show.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    const summary = await workflowResult<AuditSummary>(handle, config);
    return { summary, workflowId, seconds: (performance.now() - t0) / 1000 };
  } finally {
    finished = true;
    await poll;
  }
}
