import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AuditInput } from '../lib/audit/auditSpec';
import type { AuditPlanRef } from '../lib/audit/planAudit';
import type { AuditSummary } from '../lib/audit/reportAudit';
import { auditParts } from './auditParts';
import { boundedForEach } from './boundedForEach';
import {
  type AuditProgress,
  auditControlActivity,
  auditFoldActivity,
  auditPartsChildId,
  auditProgressQuery,
  DEFAULT_FOLD_HEARTBEAT_TIMEOUT,
  DEFAULT_HEARTBEAT_TIMEOUT,
  MAX_SHARD_CHILDREN,
  PARTS_PER_CHILD,
  shardActivity,
} from './definitions';

export type { AuditProgress };

export interface AuditWorkflowInput {
  audit: AuditInput;
  /** Task queue for featurize (a GPU queue when one polls it); defaults to this workflow's. */
  featurizeQueue?: string;
  /** Featurize activities in flight at once. */
  window?: number;
  /**
   * How soon a crashed worker's fold training is retried (its heartbeat timeout; default
   * DEFAULT_FOLD_HEARTBEAT_TIMEOUT); the retry resumes from the fold's latest checkpoint in the store.
   */
  foldHeartbeatTimeout?: string;
  /** Featurize tasks per workflow run before continuing as new; default: when Temporal suggests. */
  tasksPerRun?: number;
  /** Set when the workflow continued as new: the plan and the counts so far. */
  resume?: { plan: AuditPlanRef; featurized: number; reused: number };
}

const {
  planAudit,
  reportAudit,
  pendingRawFiles,
  importRawFile,
  pendingAuditParts,
  auditCurvatureNode,
  factorAuditCurvature,
} = proxyActivities<Activities>(auditControlActivity);

/** Runs `step` for `parts` in child workflows of PARTS_PER_CHILD; returns how many computed. */
async function partsInChildren(
  planKey: string,
  step: 'part' | 'influence',
  parts: number[],
  window: number,
): Promise<number> {
  let computed = 0;
  const lists = Math.ceil(parts.length / PARTS_PER_CHILD);
  await boundedForEach(0, lists, MAX_SHARD_CHILDREN, async (k) => {
    const first = k * PARTS_PER_CHILD;
    computed += await executeChild(auditParts, {
      workflowId: auditPartsChildId(workflowInfo().workflowId, step, first),
      args: [{ planKey, step, parts: parts.slice(first, first + PARTS_PER_CHILD), window }],
    });
  });
  return computed;
}

/**
 * One audit of a growing training set (run nightly by a Schedule): plan against the batches
 * present now, featurize only the (shard, checkpoint) pairs with no committed features, compute
 * the self-scores part by part (only new parts for TracIn's), then
 * train the out-of-fold models when the audit asks for them, rank, compare with the previous audit and commit the report. The audit's
 * time is the workflow's clock, so a replay or a retried activity names the same report.
 */
export async function audit(input: AuditWorkflowInput): Promise<AuditSummary> {
  const progress: AuditProgress = { stage: 'plan', pending: 0, featurized: 0, reused: 0 };
  setHandler(auditProgressQuery, () => progress);

  // New raw files become batches first. A file that does not match the data set's encoding
  // fails its import once (non-retryably), is recorded as rejected and listed in the report.
  if (!input.resume && input.audit.raw) {
    const time = new Date().toISOString();
    for (const file of await pendingRawFiles({ audit: input.audit })) {
      try {
        await importRawFile({ audit: input.audit, file, time });
      } catch (e) {
        const cause = e instanceof ActivityFailure ? e.cause : undefined;
        if (!(cause instanceof ApplicationFailure && cause.type === 'InputError')) throw e;
      }
    }
  }
  // The workflow's clock is part of its history: a replay or a retried activity sees the same.
  const plan =
    input.resume?.plan ?? (await planAudit({ audit: input.audit, time: new Date().toISOString() }));
  if (plan.completed) {
    progress.stage = 'done';
    return plan.completed;
  }
  progress.stage = 'featurize';
  progress.pending = plan.pending.length;
  progress.reused = input.resume?.reused ?? plan.reused;
  progress.featurized = input.resume?.featurized ?? 0;

  const { featurizeShard } = proxyActivities<Activities>(
    shardActivity(DEFAULT_HEARTBEAT_TIMEOUT, input.featurizeQueue ?? workflowInfo().taskQueue),
  );
  let done = 0;
  const next = await boundedForEach(
    0,
    plan.pending.length,
    Math.max(1, input.window ?? 8),
    async (i) => {
      const [b, shard, checkpoint] = plan.pending[i];
      const r = await featurizeShard({
        planKey: plan.batchPlans[b],
        set: 'train',
        shard,
        checkpoints: [checkpoint],
      });
      progress.pending--;
      // Another run may have committed it meanwhile: then it was reused, not computed.
      if (r.cached) progress.reused++;
      else progress.featurized++;
      done++;
    },
    // A first audit of a large set has many tasks: keep the history bounded.
    () => workflowInfo().continueAsNewSuggested || done >= (input.tasksPerRun ?? Infinity),
  );
  if (next < plan.pending.length) {
    await continueAsNew<typeof audit>({
      ...input,
      resume: {
        plan: { ...plan, pending: plan.pending.slice(next) },
        featurized: progress.featurized,
        reused: progress.reused,
      },
    });
  }

  // The self-scores, part by part on every worker (lib/audit/auditSelfScores.ts): the parts
  // whose content-addressed step no earlier audit committed, then for the influence self-score
  // the curvature tree, its factoring and every part's scores.
  progress.stage = 'parts';
  const parts = await pendingAuditParts(plan.planKey);
  progress.parts = parts.parts;
  progress.partsPending = parts.pending.length;
  const window = Math.max(1, input.window ?? 8);
  const computed = await partsInChildren(plan.planKey, 'part', parts.pending, window);
  if (parts.levels) {
    progress.stage = 'curvature';
    const levels = parts.levels;
    for (let level = 1; level < levels.length; level++) {
      await boundedForEach(0, levels[level], window, (node) =>
        auditCurvatureNode({ planKey: plan.planKey, level, node }),
      );
    }
    await factorAuditCurvature(plan.planKey);
    progress.stage = 'self-score';
    const all = Array.from({ length: parts.parts }, (_, p) => p);
    await partsInChildren(plan.planKey, 'influence', all, window);
  }

  if (plan.folds > 0) {
    // The out-of-fold models, all folds at once (as many as the workers take); each resumes from
    // its own checkpoints when retried.
    progress.stage = 'folds';
    const { auditFold } = proxyActivities<Activities>(
      auditFoldActivity(
        input.foldHeartbeatTimeout ?? DEFAULT_FOLD_HEARTBEAT_TIMEOUT,
        input.featurizeQueue ?? workflowInfo().taskQueue,
      ),
    );
    await Promise.all(
      Array.from({ length: plan.folds }, (_, fold) => auditFold({ planKey: plan.planKey, fold })),
    );
  }

  progress.stage = 'report';
  const summary = await reportAudit({
    planKey: plan.planKey,
    featurized: progress.featurized,
    reused: progress.reused,
    parts: { computed, reused: parts.parts - computed },
  });
  progress.stage = 'done';
  return summary;
}
