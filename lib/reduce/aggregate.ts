/**
 * Aggregate influence of each training example over a query set: Σ_q s[q, i], streamed per
 * shard. A partial covers one shard's rows (its memory is the shard's, never the dataset's) and
 * partials of the same shard from different query blocks add up.
 */
import type { ScoreMatrix } from '../methods/blockProduct';

export interface AggregatePartial {
  /** Global index of the shard's first example. */
  offset: number;
  /** Number of queries summed so far. */
  queries: number;
  sum: number[];
}

export function aggregateInfluence(scores: ScoreMatrix, offset: number): AggregatePartial {
  if (scores.queries === 0) throw new Error('aggregate: no queries');
  const sum = new Float64Array(scores.train);
  addToAggregate(sum, scores, offset);
  return { offset, queries: scores.queries, sum: Array.from(sum) };
}

/**
 * Adds a block of queries' scores into a shard's sums (rows of `scores` are queries
 * firstQuery, firstQuery + 1, ...): blocks added in query order give aggregateInfluence's sums
 * exactly (each sum in the same order).
 */
export function addToAggregate(
  sum: Float64Array,
  scores: ScoreMatrix,
  offset: number,
  firstQuery = 0,
): void {
  if (sum.length !== scores.train) {
    throw new Error(`aggregate: ${scores.train} score columns for ${sum.length} sums`);
  }
  for (let q = 0; q < scores.queries; q++) {
    for (let j = 0; j < scores.train; j++) {
      const v = scores.data[q * scores.train + j];
      if (!Number.isFinite(v))
        throw new Error(
          `aggregate: non-finite score at query ${firstQuery + q}, example ${offset + j}`,
        );
      sum[j] += v;
    }
  }
}

/** Adds partials of the same shard computed over disjoint query blocks. */
export function mergeAggregates(a: AggregatePartial, b: AggregatePartial): AggregatePartial {
  if (a.offset !== b.offset || a.sum.length !== b.sum.length) {
    throw new Error(
      `aggregate: partials cover different rows (${a.offset}+${a.sum.length} vs ${b.offset}+${b.sum.length})`,
    );
  }
  return {
    offset: a.offset,
    queries: a.queries + b.queries,
    sum: a.sum.map((s, j) => s + b.sum[j]),
  };
}
