/**
 * The out-of-fold audit's ranking: every committed fold's scores put back in the audit's row
 * order, combined as spec.outOfFold.rankBy says (lib/audit/outOfFoldSpec), plus what the report
 * shows about the fold models (held-out accuracy overall, per fold and per given class).
 */
import { rankAverage } from '../methods/rankAverage';
import type { ObjectStore } from '../store/objectStore';
import type { OutOfFoldRanking } from './outOfFoldSpec';
import type { AuditPlan } from './planAudit';
import { type FoldSummary, readFoldScores } from './trainFold';

export interface OutOfFoldResult {
  scores: Float64Array;
  rankBy: OutOfFoldRanking;
  /** Every ranking the option offers, by name (the chosen one included). */
  rankings: Record<OutOfFoldRanking, Float64Array>;
  folds: FoldSummary[];
  /** Held-out accuracy of the fold models on the given labels, overall and per given class. */
  accuracy: number;
  classAccuracy: (number | null)[];
}

export async function outOfFoldRanking(
  store: ObjectStore,
  plan: AuditPlan,
  /** The audit's in-sample self-score, in the audit's row order. */
  selfScore: Float64Array,
): Promise<OutOfFoldResult> {
  const oof = plan.spec.outOfFold;
  if (!oof) throw new Error(`audit ${plan.prefix} has no out-of-fold option`);
  const n = plan.rows;
  const confidence = new Float64Array(n);
  const confidenceCkpts = new Float64Array(n);
  const influence = new Float64Array(n);
  const seen = new Uint8Array(n);
  const folds: FoldSummary[] = [];
  const k = plan.classes.length;
  const rows = new Array(k).fill(0);
  const correct = new Array(k).fill(0);
  for (let f = 0; f < oof.folds; f++) {
    const { summary, scores } = await readFoldScores(store, plan, f);
    folds.push(summary);
    scores.row.forEach((r, j) => {
      if (r < 0 || r >= n || seen[r]) {
        throw new Error(`fold ${f} of audit ${plan.prefix}: row ${r} out of range or scored twice`);
      }
      seen[r] = 1;
      confidence[r] = scores.selfConfidence[j];
      confidenceCkpts[r] = scores.selfConfidenceCheckpoints[j];
      influence[r] = scores.selfInfluence[j];
    });
    summary.perClass.rows.forEach((m, c) => {
      rows[c] += m;
      correct[c] += summary.perClass.correct[c];
    });
  }
  const missing = seen.indexOf(0);
  if (missing >= 0) throw new Error(`audit ${plan.prefix}: no fold scored row ${missing}`);
  const rankings: Record<OutOfFoldRanking, Float64Array> = {
    selfConfidence: confidence,
    selfConfidenceCheckpoints: confidenceCkpts,
    selfInfluence: influence,
    rankAverage: rankAverage([confidence, influence]),
    rankAverageWithSelfScore: rankAverage([confidenceCkpts, selfScore]),
  };
  const total = rows.reduce((a, b) => a + b, 0);
  return {
    scores: rankings[oof.rankBy],
    rankBy: oof.rankBy,
    rankings,
    folds,
    accuracy: total > 0 ? correct.reduce((a, b) => a + b, 0) / total : 0,
    classAccuracy: rows.map((m, c) => (m > 0 ? correct[c] / m : null)),
  };
}
