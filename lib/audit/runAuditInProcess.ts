import { featurizeShard } from '../pipeline/featurizeShard';
import { RunContext } from '../pipeline/runContext';
import type { ObjectStore } from '../store/objectStore';
import { auditSelfScoresInProcess, pendingParts } from './auditSelfScores';
import { parseAuditInput } from './auditSpec';
import { planAudit } from './planAudit';
import { importRawFile, pendingRawFiles } from './rawBatches';
import type { AuditSummary } from './reportAudit';
import { reportAudit } from './reportAudit';
import { trainFold } from './trainFold';

/**
 * One audit in one process, without Temporal: the reference the `audit` workflow must reproduce,
 * and the way to audit small sets. `time` is the audit's time (ISO), which names its report.
 */
export async function runAuditInProcess(
  store: ObjectStore,
  input: unknown,
  time: string,
): Promise<AuditSummary> {
  const ctx = new RunContext(store);
  const spec = parseAuditInput(input);
  for (const file of await pendingRawFiles(store, spec)) {
    // A rejected file is recorded and reported; the audit goes on with the other batches.
    await importRawFile(store, spec, file, time).catch((e: Error) => {
      if (e.name !== 'InputError') throw e;
    });
  }
  const { plan, ref } = await planAudit(store, input, time, (key) => ctx.model(key));
  if (ref.completed) return ref.completed;
  let featurized = 0;
  let reused = ref.reused;
  for (const [b, shard, checkpoint] of ref.pending) {
    const r = await featurizeShard(ctx, {
      planKey: ref.batchPlans[b],
      set: 'train',
      shard,
      checkpoints: [checkpoint],
    });
    if (r.cached) reused++;
    else featurized++;
  }
  const { pending } = await pendingParts(ctx, ref.planKey);
  const parts = await auditSelfScoresInProcess(ctx, ref.planKey, pending);
  for (let fold = 0; fold < ref.folds; fold++) await trainFold(store, plan, fold);
  return reportAudit(ctx, { planKey: ref.planKey, featurized, reused, parts });
}
