/**
 * Per given class: how many of the audit's suspects (its top K) carry that label, and whether
 * detection is reliable there. Ranking by how badly a model fits a label finds wrong labels only
 * in classes the model has learned: where the model gets most of a class's rows wrong anyway,
 * correct and flipped labels look alike and the class's suspects are mostly noise.
 */

/** A class is flagged when the (held-out) accuracy on its given labels is below this. */
export const UNRELIABLE_BELOW = 0.5;

export interface ClassLine {
  name: string;
  /** Rows with this given label, and how many of them are among the suspects. */
  rows: number;
  suspects: number;
  /** Accuracy on this class's given labels (held-out with out-of-fold models), if known. */
  accuracy: number | null;
  unreliable: boolean;
}

export function classSummary(
  classes: string[],
  labels: ArrayLike<number>,
  suspectLabels: ArrayLike<number>,
  accuracy: (number | null)[] | null,
): ClassLine[] {
  const rows = new Array(classes.length).fill(0);
  const suspects = new Array(classes.length).fill(0);
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) rows[labels[i]]++;
  for (let i = 0; i < suspectLabels.length; i++) {
    if (suspectLabels[i] >= 0) suspects[suspectLabels[i]]++;
  }
  return classes.map((name, c) => {
    const acc = accuracy?.[c] ?? null;
    return {
      name,
      rows: rows[c],
      suspects: suspects[c],
      accuracy: acc,
      unreliable: acc !== null && acc < UNRELIABLE_BELOW,
    };
  });
}
