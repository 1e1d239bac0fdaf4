import { proxyActivities } from '@temporalio/workflow';
import type { EvaluateActivities, EvaluateInput, EvaluateSummary } from '../activities/evaluate';

export type { EvaluateInput, EvaluateSummary };

const { evaluateAgreement } = proxyActivities<EvaluateActivities>({
  startToCloseTimeout: '1 hour',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: ['InputError'] },
});

/**
 * Agreement of each method's scores with a committed gold standard, as a function of T:
 * Arrow + JSON tables and cosine/Spearman SVG charts under outputPrefix, committed.
 */
export async function evaluate(input: EvaluateInput): Promise<EvaluateSummary> {
  return evaluateAgreement(input);
}
