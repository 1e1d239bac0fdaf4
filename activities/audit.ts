import { Context } from '@temporalio/activity';
import {
  type AuditPartsPlan,
  auditPartInfluence,
  auditPartStep,
  factorAuditCurvature,
  type PartResult,
  pendingParts,
  sumAuditCurvatureNode,
} from '../lib/audit/auditSelfScores';
import { type AuditInput, parseAuditInput } from '../lib/audit/auditSpec';
import { type AuditPlanRef, planAudit, readAuditPlan } from '../lib/audit/planAudit';
import { importRawFile, pendingRawFiles, type RawFile } from '../lib/audit/rawBatches';
import { type AuditSummary, reportAudit } from '../lib/audit/reportAudit';
import { type FoldSummary, trainFold } from '../lib/audit/trainFold';
import { RunContext } from '../lib/pipeline/runContext';
import type { ObjectStore } from '../lib/store/objectStore';
import { classifyFailures } from './failures';

/**
 * Thin Temporal adapters over lib/audit. Featurizing is the pipeline's own featurizeShard
 * activity (activities/attribution.ts), so audits and attribution runs share feature files.
 */
export function createAuditActivities(store: ObjectStore) {
  const ctx = new RunContext(store);
  return {
    /** `time` is the workflow's clock (deterministic): it names the audit's report. */
    async planAudit(args: { audit: AuditInput; time: string }): Promise<AuditPlanRef> {
      return classifyFailures(
        async () => (await planAudit(store, args.audit, args.time, (k) => ctx.model(k))).ref,
      );
    },

    /**
     * One out-of-fold model: trains it (resuming from its latest checkpoint in the store after a
     * crash), heartbeating the step, and commits its fold's scores.
     */
    async auditFold(args: { planKey: string; fold: number }): Promise<FoldSummary> {
      const actx = Context.current();
      return classifyFailures(async () =>
        trainFold(store, await readAuditPlan(store, args.planKey), args.fold, {
          onStep: (step, totalSteps) => actx.heartbeat({ step, totalSteps }),
          onScoring: () => actx.heartbeat({ scoring: true }),
        }),
      );
    },

    /** Raw files (audit input `raw`) not imported or rejected yet. */
    async pendingRawFiles(args: { audit: AuditInput }): Promise<RawFile[]> {
      return classifyFailures(() => pendingRawFiles(store, parseAuditInput(args.audit)));
    },

    /** Imports one raw file as a batch; bad input is recorded as rejected and fails non-retryably. */
    async importRawFile(args: {
      audit: AuditInput;
      file: RawFile;
      time: string;
    }): Promise<{ batch: string; rows: number }> {
      return classifyFailures(() =>
        importRawFile(store, parseAuditInput(args.audit), args.file, args.time),
      );
    },

    /** How many parts the audit ranks, and those whose content-addressed step is not committed. */
    async pendingAuditParts(planKey: string): Promise<AuditPartsPlan> {
      return classifyFailures(() => pendingParts(ctx, planKey));
    },

    /**
     * One part's step: 'part' its content-addressed TracIn self-scores or influence curvature
     * partials, 'influence' its influence self-scores against the audit's factored curvature.
     */
    async auditPart(args: {
      planKey: string;
      step: 'part' | 'influence';
      part: number;
    }): Promise<PartResult> {
      const actx = Context.current();
      const run = args.step === 'part' ? auditPartStep : auditPartInfluence;
      return classifyFailures(
        () => run(ctx, args.planKey, args.part, () => actx.heartbeat()),
        `audit part ${args.part} (${args.step === 'part' ? 'self-score part' : 'influence self-score'})`,
      );
    },

    /** A step of the audit's curvature tree: inner node `node` of `level`. */
    async auditCurvatureNode(args: { planKey: string; level: number; node: number }) {
      const actx = Context.current();
      return classifyFailures(
        () =>
          sumAuditCurvatureNode(ctx, args.planKey, args.level, args.node, () => actx.heartbeat()),
        `audit curvature level ${args.level} node ${args.node}`,
      );
    },

    async factorAuditCurvature(planKey: string) {
      const actx = Context.current();
      return classifyFailures(() => factorAuditCurvature(ctx, planKey, () => actx.heartbeat()));
    },

    async reportAudit(args: {
      planKey: string;
      featurized: number;
      reused: number;
      parts: { computed: number; reused: number };
    }): Promise<AuditSummary> {
      const actx = Context.current();
      return classifyFailures(() => reportAudit(ctx, args, (shards) => actx.heartbeat(shards)));
    },
  };
}
