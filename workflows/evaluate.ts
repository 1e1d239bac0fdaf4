import { proxyActivities } from '@temporalio/workflow';
import type { EvaluateActivities, EvaluateInput, EvaluateSummary } from '../activities/evaluate';
import { evaluateActivity } from './definitions';

export type { EvaluateInput, EvaluateSummary };

const { evaluateAgreement } = proxyActivities<EvaluateActivities>(evaluateActivity);

/**
 * Agreement of each method's scores with a committed gold standard, as a function of T:
 * Arrow + JSON tables and cosine/Spearman SVG charts under outputPrefix, committed.
 */
export async function evaluate(input: EvaluateInput): Promise<EvaluateSummary> {
  return evaluateAgreement(input);
}
