import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { boundedForEach } from './boundedForEach';
import { DEFAULT_HEARTBEAT_TIMEOUT, shardActivity } from './definitions';

export interface AuditPartsInput {
  planKey: string;
  /** 'part': the content-addressed step (lib/audit/auditSelfScores.ts); 'influence': the scores. */
  step: 'part' | 'influence';
  parts: number[];
  window: number;
  /** Steps computed (not found committed) by earlier runs of this child (continue-as-new). */
  computed?: number;
}

/**
 * One list of an audit's parts through one step, at most `window` in flight: a child per list
 * keeps the audit's history bounded however many parts there are, as selfScoreShards does for
 * runs. Returns how many steps it computed rather than found committed.
 */
export async function auditParts(input: AuditPartsInput): Promise<number> {
  const { auditPart } = proxyActivities<Activities>(shardActivity(DEFAULT_HEARTBEAT_TIMEOUT));
  let computed = input.computed ?? 0;
  const next = await boundedForEach(
    0,
    input.parts.length,
    input.window,
    async (i) => {
      const r = await auditPart({ planKey: input.planKey, step: input.step, part: input.parts[i] });
      if (!r.cached) computed++;
    },
    () => workflowInfo().continueAsNewSuggested,
  );
  if (next < input.parts.length) {
    await continueAsNew<typeof auditParts>({ ...input, parts: input.parts.slice(next), computed });
  }
  return computed;
}
