import { auditPartCount, auditPartOf } from '../../lib/audit/auditSelfScores';
import { readAuditPlan } from '../../lib/audit/planAudit';
import type { CheckpointInfo, ExampleFeatures } from '../../lib/features';
import { selfInfluence } from '../../lib/methods/selfInfluence';
import { RunContext } from '../../lib/pipeline/runContext';
import type { ObjectStore } from '../../lib/store/objectStore';

/** Every part's features at every checkpoint of an audit, read straight from the feature files. */
export async function auditFeatures(store: ObjectStore, planKey: string) {
  const ctx = new RunContext(store);
  const plan = await readAuditPlan(store, planKey);
  const feats: ExampleFeatures[][] = [];
  for (let p = 0; p < auditPartCount(plan); p++) {
    const { batch, shard } = auditPartOf(plan, p);
    const bp = await ctx.plan(plan.batches[batch].planKey);
    const fs = [];
    for (let c = 0; c < plan.checkpoints.length; c++) {
      fs.push((await ctx.features(bp, 'train', shard, c)).features);
    }
    feats.push(fs);
  }
  const cks: CheckpointInfo[] = plan.checkpoints.map((c) => ({
    step: c.step,
    learningRate: c.learningRate,
  }));
  return { plan, feats, cks };
}

/** The audit's TracIn self-scores as one process computed them before parts: per part, in order. */
export async function auditTracinReference(store: ObjectStore, planKey: string) {
  const { feats, cks } = await auditFeatures(store, planKey);
  return feats.map((f) => selfInfluence(f, cks, 'exact'));
}
