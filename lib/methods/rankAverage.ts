/**
 * Rank averaging: several suspicion scores (higher = more suspicious, on any scales) combined as
 * the weighted mean of their normalised ranks,
 *   c_i = Σ_r w_r u_ri / Σ_r w_r,   u_ri = rank_r(i) / n,
 * where rank_r(i) ∈ [1, n] is i's ascending rank under score r (tied scores share their average
 * rank). Ranks, not raw values, because the scores live on unrelated scales (a probability, a
 * curvature-weighted gradient norm); a ranking is unchanged by any increasing map of one score.
 */

/** Ascending ranks 1..n of the scores, ties given their average rank. */
export function averageRanks(scores: ArrayLike<number>): Float64Array {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const rank = new Float64Array(n);
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && scores[order[e + 1]] === scores[order[s]]) e++;
    const avg = (s + e) / 2 + 1;
    for (let t = s; t <= e; t++) rank[order[t]] = avg;
    s = e + 1;
  }
  return rank;
}

export function rankAverage(
  scores: ArrayLike<number>[],
  weights: number[] = scores.map(() => 1),
): Float64Array {
  if (scores.length === 0) throw new Error('rankAverage: no scores to combine');
  const n = scores[0].length;
  if (weights.length !== scores.length) {
    throw new Error(`rankAverage: ${weights.length} weights for ${scores.length} scores`);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0) || weights.some((w) => !(w >= 0))) {
    throw new Error(
      `rankAverage: weights must be non-negative with a positive sum, got [${weights}]`,
    );
  }
  const out = new Float64Array(n);
  scores.forEach((s, r) => {
    if (s.length !== n)
      throw new Error(`rankAverage: score ${r} has ${s.length} values, score 0 has ${n}`);
    for (let i = 0; i < s.length; i++) {
      if (!Number.isFinite(s[i]))
        throw new Error(`rankAverage: score ${r} is not finite at row ${i}`);
    }
    const rank = averageRanks(s);
    const w = weights[r] / total / n;
    for (let i = 0; i < n; i++) out[i] += w * rank[i];
  });
  return out;
}
