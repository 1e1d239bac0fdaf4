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
  const lists = [topk.proponents, topk.opponents];
  let rows = 0;
  for (const ls of lists) for (const l of ls) rows += l.index.length;
  const q = new Int32Array(rows);
  const kind = new Int32Array(rows);
  const rank = new Int32Array(rows);
  const index = new Int32Array(rows);
  const score = new Float64Array(rows);
  let o = 0;
  lists.forEach((ls, side) => {
    ls.forEach((l, qi) => {
      for (let r = 0; r < l.index.length; r++, o++) {
        q[o] = qi;
        kind[o] = side === 0 ? 1 : -1;
        rank[o] = r;
        index[o] = l.index[r];
        score[o] = l.score[r];
      }
    });
  });
  return {
    rows,
    columns: {
      query: { values: q },
      kind: { values: kind },
      rank: { values: rank },
      index: { values: index },
      score: { values: score },
    },
  };
}
