import { checkSameAddress } from '../specAddress';
import { getJsonIfPresent, type ObjectStore, putJson } from '../store/objectStore';
import { planKeyOf } from './keys';
import { SpecError } from './runSpec';
import type { Plan } from './types';

/**
 * Stores a run's plan at `<runPrefix>/plan.json` and returns its key. A plan already there must
 * have the same address body (spec, inputs, code): a run's stored plan or results are never
 * served for a request they were not computed for, even if two addresses ever met.
 */
export async function storePlan(store: ObjectStore, plan: Plan): Promise<string> {
  const planKey = planKeyOf(plan.runPrefix);
  const stored = await getJsonIfPresent<Plan>(store, planKey);
  if (stored) {
    checkSameAddress(stored.address, plan.address, planKey, (m) => new SpecError(m));
  }
  await putJson(store, planKey, plan);
  return planKey;
}
