import {
  type EvaluateInput,
  type EvaluateSummary,
  evaluateAgreement,
} from '../lib/eval/evaluateAgreement';
import type { ObjectStore } from '../lib/store/objectStore';
import { classifyFailures } from './failures';

export type { EvaluateInput, EvaluateSummary };

/** The thin Temporal adapter over lib/eval/evaluateAgreement.ts. */
export function createEvaluateActivities(store: ObjectStore) {
  return {
    async evaluateAgreement(input: EvaluateInput): Promise<EvaluateSummary> {
      return classifyFailures(() => evaluateAgreement(store, input));
    },
  };
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
