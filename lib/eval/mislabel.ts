/**
 * Mislabel detection: rank training examples by descending score (ties by lower index) and
 * report the fraction of flipped examples among the top 5/10/20/30% (m = round(f · n) examples
 * inspected), and the ROC AUC of the score for the flipped class (rank-based, ties averaged).
 */
import { averageRanks } from '../methods/rankAverage';

export interface MislabelReport {
  /** fraction inspected → fraction of all flipped examples found there */
  foundAt: { fraction: number; inspected: number; found: number }[];
  auc: number;
}

export const DEFAULT_FRACTIONS = [0.05, 0.1, 0.2, 0.3];

function check(scores: ArrayLike<number>, flipped: ArrayLike<boolean>): void {
  if (scores.length === 0) throw new Error('mislabel: empty score set');
  if (scores.length !== flipped.length) {
    throw new Error(`mislabel: ${scores.length} scores for ${flipped.length} flipped flags`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`mislabel: non-finite score at ${i}`);
  }
}

/** Rank-based ROC AUC: P(score of flipped > score of clean) + ½ P(tie). */
export function rocAuc(scores: ArrayLike<number>, flipped: ArrayLike<boolean>): number {
  check(scores, flipped);
  const n = scores.length;
  const rank = averageRanks(scores);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (flipped[i]) {
      pos++;
      rankSum += rank[i];
    }
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0)
    throw new Error('mislabel: AUC needs both flipped and clean examples');
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function mislabelReport(
  scores: ArrayLike<number>,
  flipped: ArrayLike<boolean>,
  fractions: number[] = DEFAULT_FRACTIONS,
): MislabelReport {
  check(scores, flipped);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => scores[b] - scores[a] || a - b,
  );
  let total = 0;
  for (let i = 0; i < n; i++) if (flipped[i]) total++;
  const foundAt = fractions.map((fraction) => {
    if (!(fraction >= 0 && fraction <= 1))
      throw new Error(`mislabel: fraction ${fraction} outside [0, 1]`);
    const inspected = Math.round(fraction * n);
    let hits = 0;
    for (let r = 0; r < inspected; r++) if (flipped[order[r]]) hits++;
    return { fraction, inspected, found: total > 0 ? hits / total : 0 };
  });
  return { foundAt, auc: rocAuc(scores, flipped) };
}
