/**
 * Global top-k ranking of a per-example value (self-influence, aggregate influence), streamed
 * shard by shard with the same deterministic order as per-query top-k.
 */
import type { AggregatePartial } from './aggregate';
import { TopKAccumulator, type TopKPartial } from './topK';

export interface Ranking {
  /** Largest values first. */
  top: { index: number[]; score: number[] };
  /** Smallest values first. */
  bottom: { index: number[]; score: number[] };
}

export function rankingAccumulator(k: number): TopKAccumulator {
  return new TopKAccumulator(1, k);
}

/** Feeds one shard's self-influence values (global indices offset + j). */
export function addSelfInfluence(
  acc: TopKAccumulator,
  values: ArrayLike<number>,
  offset: number,
): void {
  acc.addVector(values, offset);
}

export function addAggregate(acc: TopKAccumulator, partial: AggregatePartial): void {
  acc.addVector(partial.sum, partial.offset);
}

export function toRanking(partial: TopKPartial): Ranking {
  return { top: partial.proponents[0], bottom: partial.opponents[0] };
}
