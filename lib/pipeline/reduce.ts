import { writeColumns } from '../arrow/columns';
import { TopKAccumulator, type TopKPartial } from '../reduce/topK';
import { rankedColumns } from './rankedColumns';
import type { ShardScores } from './shardScores';

/**
 * Merges shard partials into the run's results: per-query top-k proponents and opponents, and
 * per-example self-influence and aggregate influence in example order. Partials can arrive in any
 * order; the result is the same (the top-k order is total).
 */
export class RunReducer {
  private readonly topk: TopKAccumulator;
  readonly selfInfluence: Float64Array;
  readonly aggregate: Float64Array;
  private readonly seen: Uint8Array;

  constructor(
    readonly queries: number,
    readonly k: number,
    readonly rows: number,
  ) {
    this.topk = new TopKAccumulator(queries, k);
    this.selfInfluence = new Float64Array(rows);
    this.aggregate = new Float64Array(rows);
    this.seen = new Uint8Array(rows);
  }

  add(s: ShardScores): void {
    if (s.offset < 0 || s.offset + s.rows > this.rows) {
      throw new Error(
        `shard rows ${s.offset}..${s.offset + s.rows} outside the run's ${this.rows}`,
      );
    }
    this.topk.merge(s.topk);
    this.selfInfluence.set(s.selfInfluence, s.offset);
    this.aggregate.set(s.aggregate, s.offset);
    this.seen.fill(1, s.offset, s.offset + s.rows);
  }

  finish(): RunResults {
    const missing = this.seen.indexOf(0);
    if (missing >= 0) throw new Error(`no shard covered training row ${missing}`);
    return {
      topk: this.topk.toJSON(),
      selfInfluence: this.selfInfluence,
      aggregate: this.aggregate,
    };
  }
}

/**
 * Partials of consecutive row ranges, in order, as one partial of their union (a results-tree
 * node): top-k lists merged, per-example vectors end to end. Added one at a time, so a step
 * holds the merged lists and one partial (and the next, read ahead: mergeResults.ts foldNodes),
 * not all of its children (32 partials of 1,000 queries' top-100 lists as JS arrays were a few
 * hundred MiB per step at 1M examples).
 */
export class ShardScoresConcat {
  private topk: TopKAccumulator | undefined;
  private offset = 0;
  private rows = 0;
  private readonly aggregate: Float64Array[] = [];
  private readonly selfInfluence: Float64Array[] = [];

  add(p: ShardScores): void {
    if (!this.topk) {
      this.topk = new TopKAccumulator(p.topk.queries, p.topk.k);
      this.offset = p.offset;
    } else if (p.offset !== this.offset + this.rows) {
      throw new Error(
        `reduce: partials not consecutive (rows ${p.offset}.. follow rows ..${this.offset + this.rows})`,
      );
    }
    this.topk.merge(p.topk);
    this.aggregate.push(p.aggregate);
    this.selfInfluence.push(p.selfInfluence);
    this.rows += p.rows;
  }

  finish(): ShardScores {
    if (!this.topk) throw new Error('reduce: no partials to merge');
    const cat = (parts: Float64Array[]) => {
      const out = new Float64Array(this.rows);
      let at = 0;
      for (const v of parts) {
        out.set(v, at);
        at += v.length;
      }
      return out;
    };
    return {
      offset: this.offset,
      rows: this.rows,
      topk: this.topk.toJSON(),
      aggregate: cat(this.aggregate),
      selfInfluence: cat(this.selfInfluence),
    };
  }
}

export interface RunResults {
  topk: TopKPartial;
  selfInfluence: Float64Array;
  aggregate: Float64Array;
}

export function writeResults(r: RunResults): { topk: Uint8Array; examples: Uint8Array } {
  const ranked = rankedColumns(r.topk);
  const topk = writeColumns(ranked.rows, ranked.columns);
  const n = r.selfInfluence.length;
  const examples = writeColumns(n, {
    index: { values: Int32Array.from({ length: n }, (_, i) => i) },
    self_influence: { values: r.selfInfluence },
    aggregate: { values: r.aggregate },
  });
  return { topk, examples };
}
