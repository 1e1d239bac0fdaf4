import { Context } from '@temporalio/activity';
import type { AuditInput } from '../lib/audit/auditSpec';
import { type AuditPlanRef, planAudit } from '../lib/audit/planAudit';
import { type AuditSummary, reportAudit } from '../lib/audit/reportAudit';
import { RunContext } from '../lib/pipeline/runContext';
import type { ObjectStore } from '../lib/store/objectStore';
import { classify } from './classify';

/**
 * Thin Temporal adapters over lib/audit. Featurizing is the pipeline's own featurizeShard
 * activity (activities/attribution.ts), so audits and attribution runs share feature files.
 */
export function createAuditActivities(store: ObjectStore) {
  const ctx = new RunContext(store);
  return {
    /** `time` is the workflow's clock (deterministic): it names the audit's report. */
    async planAudit(args: { audit: AuditInput; time: string }): Promise<AuditPlanRef> {
      return classify(
        async () => (await planAudit(store, args.audit, args.time, (k) => ctx.model(k))).ref,
      );
    },

    async reportAudit(args: {
      planKey: string;
      featurized: number;
      reused: number;
    }): Promise<AuditSummary> {
      const actx = Context.current();
      return classify(() => reportAudit(ctx, args, (shards) => actx.heartbeat(shards)));
    },
  };
}
