import type { ColumnSpec } from '../arrow/columns';
import type { TopKPartial } from '../reduce/topK';

/**
 * Per-query ranked lists in long form, one row per (query, proponent/opponent, rank): the layout
 * of both the shard partials and the run's topk.arrow.
 */
export function rankedColumns(topk: TopKPartial): {
  rows: number;
  columns: Record<string, ColumnSpec>;
} {
  const q: number[] = [];
  const kind: number[] = [];
  const rank: number[] = [];
  const index: number[] = [];
  const score: number[] = [];
  const push = (lists: TopKPartial['proponents'], k: number) =>
    lists.forEach((l, qi) => {
      for (let r = 0; r < l.index.length; r++) {
        q.push(qi);
        kind.push(k);
        rank.push(r);
        index.push(l.index[r]);
        score.push(l.score[r]);
      }
    });
  push(topk.proponents, 1);
  push(topk.opponents, -1);
  return {
    rows: q.length,
    columns: {
      query: { values: Int32Array.from(q) },
      kind: { values: Int32Array.from(kind) },
      rank: { values: Int32Array.from(rank) },
      index: { values: Int32Array.from(index) },
      score: { values: Float64Array.from(score) },
    },
  };
}
