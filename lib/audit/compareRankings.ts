/**
 * A self-influence ranking of a growing training set, and how it moved since an earlier audit.
 * Examples are named by (batch, id): ids are only unique within a batch.
 */
export interface Ranking {
  /** Batch names; `batch` holds indices into it. */
  batches: string[];
  batch: Int32Array;
  id: Int32Array;
  /** Best (most suspicious) first. */
  score: Float64Array;
  label?: Int32Array;
}

export interface RankedRef {
  batch: string;
  id: number;
  score: number;
  rank: number;
}

export interface Comparison {
  /** Entered the top-K since the previous audit; `previousRank` null for unseen examples. */
  entered: (RankedRef & { previousRank: number | null; newData: boolean })[];
  /** Were in the previous top-K and are not any more (still present: batches never change). */
  left: (RankedRef & { previousRank: number; previousScore: number })[];
  /** Score changes of examples both audits ranked (non-zero when the model changed). */
  drift: {
    compared: number;
    meanDelta: number;
    meanAbsDelta: number;
    maxAbsDelta: number;
    /** Pearson correlation of the two scores; null when undefined (fewer than 2, constant). */
    correlation: number | null;
    largest: { batch: string; id: number; previous: number; current: number; delta: number }[];
  };
  /** Per row of the current ranking: the previous score (NaN if unseen) and rank (-1). */
  previousScore: Float64Array;
  previousRank: Int32Array;
}

/** Sorts examples by score, best first; ties by batch then id, so rankings are reproducible. */
export function rankExamples(
  batches: string[],
  batch: Int32Array,
  id: Int32Array,
  score: Float64Array,
  label?: Int32Array,
): Ranking {
  const n = score.length;
  if (batch.length !== n || id.length !== n) {
    throw new Error(`rankExamples: ${n} scores but ${batch.length} batches and ${id.length} ids`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(score[i]))
      throw new Error(`rankExamples: non-finite score at row ${i} (batch ${batches[batch[i]]})`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => score[b] - score[a] || batch[a] - batch[b] || id[a] - id[b],
  );
  return {
    batches,
    batch: Int32Array.from(order, (i) => batch[i]),
    id: Int32Array.from(order, (i) => id[i]),
    score: Float64Array.from(order, (i) => score[i]),
    label: label && Int32Array.from(order, (i) => label[i]),
  };
}

export function compareRankings(
  current: Ranking,
  previous: Ranking,
  topK: number,
  largest = 10,
): Comparison {
  const prevIndex = new Map<string, Map<number, number>>();
  for (let r = 0; r < previous.score.length; r++) {
    const name = previous.batches[previous.batch[r]];
    let m = prevIndex.get(name);
    if (!m) prevIndex.set(name, (m = new Map()));
    m.set(previous.id[r], r);
  }
  const n = current.score.length;
  const previousScore = new Float64Array(n).fill(Number.NaN);
  const previousRank = new Int32Array(n).fill(-1);
  const curRank = new Map<string, number>();
  let compared = 0;
  let sum = 0;
  let sumAbs = 0;
  let maxAbs = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  const deltas: Comparison['drift']['largest'] = [];
  for (let r = 0; r < n; r++) {
    const name = current.batches[current.batch[r]];
    curRank.set(`${name}\u0000${current.id[r]}`, r);
    const p = prevIndex.get(name)?.get(current.id[r]);
    if (p === undefined) continue;
    const x = previous.score[p];
    const y = current.score[r];
    previousScore[r] = x;
    previousRank[r] = p;
    const d = y - x;
    compared++;
    sum += d;
    sumAbs += Math.abs(d);
    maxAbs = Math.max(maxAbs, Math.abs(d));
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
    deltas.push({ batch: name, id: current.id[r], previous: x, current: y, delta: d });
  }
  const vx = sxx - (sx * sx) / compared;
  const vy = syy - (sy * sy) / compared;
  const correlation =
    compared >= 2 && vx > 0 && vy > 0 ? (sxy - (sx * sy) / compared) / Math.sqrt(vx * vy) : null;

  const entered: Comparison['entered'] = [];
  for (let r = 0; r < Math.min(topK, n); r++) {
    const pr = previousRank[r];
    if (pr >= 0 && pr < topK) continue;
    entered.push({
      batch: current.batches[current.batch[r]],
      id: current.id[r],
      score: current.score[r],
      rank: r,
      previousRank: pr >= 0 ? pr : null,
      newData: pr < 0,
    });
  }
  const left: Comparison['left'] = [];
  for (let p = 0; p < Math.min(topK, previous.score.length); p++) {
    const name = previous.batches[previous.batch[p]];
    const r = curRank.get(`${name}\u0000${previous.id[p]}`);
    if (r !== undefined && r < topK) continue;
    left.push({
      batch: name,
      id: previous.id[p],
      score: r === undefined ? Number.NaN : current.score[r],
      rank: r ?? -1,
      previousRank: p,
      previousScore: previous.score[p],
    });
  }
  deltas.sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
  return {
    entered,
    left,
    drift: {
      compared,
      meanDelta: compared ? sum / compared : 0,
      meanAbsDelta: compared ? sumAbs / compared : 0,
      maxAbsDelta: maxAbs,
      correlation,
      largest: deltas.slice(0, largest).filter((d) => d.delta !== 0),
    },
    previousScore,
    previousRank,
  };
}
