/**
 * Streaming per-query top-k proponents (largest scores) and opponents (smallest), fed shard by
 * shard, in memory O(queries · k). Order is total: by score, then by lower example index, so any
 * split into shards and any merge order give exactly the in-process result. Partial results are
 * plain JSON-able objects (numbers survive JSON exactly). Also the top of one vector
 * (topIndices). Over ~300 lines: every ranking here shares the one bounded heap.
 */
import type { ScoreMatrix } from '../methods/blockProduct';

export interface RankedList {
  /** Global example indices, best first. */
  index: number[];
  score: number[];
}

export interface TopKPartial {
  k: number;
  queries: number;
  proponents: RankedList[];
  opponents: RankedList[];
}

/**
 * A bounded heap keeping the k best entries; its root is the worst kept entry. Typed arrays
 * (float64: every score and index exactly as given).
 */
class BoundedHeap {
  private readonly idx: Float64Array;
  private readonly val: Float64Array;
  private n = 0;
  constructor(
    private readonly k: number,
    private readonly sign: 1 | -1,
  ) {
    this.idx = new Float64Array(k);
    this.val = new Float64Array(k);
  }

  /** True when entry a ranks before entry b. */
  private better(sa: number, ia: number, sb: number, ib: number): boolean {
    const a = this.sign * sa;
    const b = this.sign * sb;
    return a > b || (a === b && ia < ib);
  }

  push(index: number, score: number): void {
    const n = this.n;
    if (n < this.k) {
      this.idx[n] = index;
      this.val[n] = score;
      this.n = n + 1;
      this.up(n);
    } else if (this.better(score, index, this.val[0], this.idx[0])) {
      this.replaceRoot(index, score);
    }
  }

  /**
   * push(index0 + j or indices[j], values[base + j]) for j < count, in order: the same heap,
   * but once it is full an entry that cannot displace the root (most of a shard's scores) costs
   * one comparison against locals. Scores must be finite (the caller checks).
   */
  offer(
    values: ArrayLike<number>,
    base: number,
    count: number,
    index0: number,
    indices?: ArrayLike<number>,
  ): void {
    let j = 0;
    for (; j < count && this.n < this.k; j++)
      this.push(indices ? indices[j] : index0 + j, values[base + j]);
    if (j === count) return;
    let rv = this.val[0];
    let ri = this.idx[0];
    if (this.sign === 1) {
      for (; j < count; j++) {
        const s = values[base + j];
        if (s < rv) continue;
        const i = indices ? indices[j] : index0 + j;
        if (s > rv || i < ri) {
          this.replaceRoot(i, s);
          rv = this.val[0];
          ri = this.idx[0];
        }
      }
    } else {
      for (; j < count; j++) {
        const s = values[base + j];
        if (s > rv) continue;
        const i = indices ? indices[j] : index0 + j;
        if (s < rv || i < ri) {
          this.replaceRoot(i, s);
          rv = this.val[0];
          ri = this.idx[0];
        }
      }
    }
  }

  private replaceRoot(index: number, score: number): void {
    this.idx[0] = index;
    this.val[0] = score;
    this.down(0);
  }

  private swap(a: number, b: number): void {
    const i = this.idx[a];
    this.idx[a] = this.idx[b];
    this.idx[b] = i;
    const v = this.val[a];
    this.val[a] = this.val[b];
    this.val[b] = v;
  }

  // Min-heap under `better`: a parent is never better than its children.
  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(this.val[p], this.idx[p], this.val[i], this.idx[i])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.n;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < n && this.better(this.val[w], this.idx[w], this.val[l], this.idx[l])) w = l;
      if (r < n && this.better(this.val[w], this.idx[w], this.val[r], this.idx[r])) w = r;
      if (w === i) return;
      this.swap(i, w);
      i = w;
    }
  }

  /** Best first: a heap sort of a copy (the root, the worst kept entry, fills the list from its end). */
  sorted(): RankedList {
    const n = this.n;
    const h = new BoundedHeap(this.k, this.sign);
    h.idx.set(this.idx);
    h.val.set(this.val);
    const index = new Array<number>(n);
    const score = new Array<number>(n);
    for (let m = n - 1; m >= 0; m--) {
      index[m] = h.idx[0];
      score[m] = h.val[0];
      h.idx[0] = h.idx[m];
      h.val[0] = h.val[m];
      h.n = m;
      h.down(0);
    }
    return { index, score };
  }
}

const nonFinite = (score: number, index: number) =>
  new Error(`topK: non-finite score ${score} for example ${index}`);

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0) throw new Error(`topK: bad example index ${index}`);
}

/** Throws, naming the first one, if any of values[base + j], j < count, is not finite. */
function checkFinite(
  values: ArrayLike<number>,
  base: number,
  count: number,
  index0: number,
  indices?: ArrayLike<number>,
): void {
  // s * 0 is 0 for a finite s and NaN for NaN or ±Infinity: one add per score in the common case.
  let probe = 0;
  for (let j = 0; j < count; j++) probe += values[base + j] * 0;
  if (probe === 0) return;
  for (let j = 0; j < count; j++) {
    const s = values[base + j];
    if (!Number.isFinite(s)) throw nonFinite(s, indices ? indices[j] : index0 + j);
  }
}

/**
 * Indices of the `count` largest values, largest first, ties to the lower index (the top-k
 * order): one bounded heap over the values, n log count, not a sort of all n (a run's top
 * self-influence at 1M examples). Values must be finite.
 */
export function topIndices(values: ArrayLike<number>, count: number): number[] {
  const k = Math.min(count, values.length);
  if (!(k >= 1)) return [];
  checkFinite(values, 0, values.length, 0);
  const heap = new BoundedHeap(k, 1);
  heap.offer(values, 0, values.length, 0);
  return heap.sorted().index;
}

export class TopKAccumulator {
  private readonly pro: BoundedHeap[];
  private readonly opp: BoundedHeap[];

  constructor(
    readonly queries: number,
    readonly k: number,
  ) {
    if (!Number.isInteger(queries) || queries < 1)
      throw new Error(`topK: queries must be ≥ 1, got ${queries}`);
    if (!Number.isInteger(k) || k < 1) throw new Error(`topK: k must be ≥ 1, got ${k}`);
    this.pro = Array.from({ length: queries }, () => new BoundedHeap(k, 1));
    this.opp = Array.from({ length: queries }, () => new BoundedHeap(k, -1));
  }

  /** One score; `index` is the global example index. */
  push(query: number, index: number, score: number): void {
    if (!Number.isFinite(score)) throw nonFinite(score, index);
    checkIndex(index);
    this.pro[query].push(index, score);
    this.opp[query].push(index, score);
  }

  /**
   * A shard's score block: column j is global example offset + j (or indices[j] when given);
   * row r is query firstQuery + r (a block of the queries).
   */
  addScores(
    scores: ScoreMatrix,
    offset: number,
    indices?: ArrayLike<number>,
    firstQuery = 0,
  ): void {
    if (firstQuery < 0 || firstQuery + scores.queries > this.queries) {
      throw new Error(
        `topK: score block has ${scores.queries} queries, accumulator ${this.queries}${firstQuery ? ` (block from query ${firstQuery})` : ''}`,
      );
    }
    if (indices && indices.length !== scores.train)
      throw new Error('topK: indices length differs from score columns');
    this.addRows(scores.data, scores.queries, scores.train, offset, indices, firstQuery);
  }

  /** A per-example vector (self-influence, aggregate influence) for a one-query accumulator. */
  addVector(values: ArrayLike<number>, offset: number): void {
    if (this.queries !== 1) throw new Error('topK: addVector needs a one-query accumulator');
    this.addRows(values, 1, values.length, offset);
  }

  /** Row r of the queries × nt values is query firstQuery + r; column j example offset + j. */
  private addRows(
    data: ArrayLike<number>,
    queries: number,
    nt: number,
    offset: number,
    indices?: ArrayLike<number>,
    firstQuery = 0,
  ): void {
    // Indices are checked once per block, scores once per row, not once per (query, example).
    if (indices) for (let j = 0; j < nt; j++) checkIndex(indices[j]);
    else if (nt > 0) checkIndex(offset);
    for (let q = 0; q < queries; q++) {
      const base = q * nt;
      checkFinite(data, base, nt, offset, indices);
      this.pro[firstQuery + q].offer(data, base, nt, offset, indices);
      this.opp[firstQuery + q].offer(data, base, nt, offset, indices);
    }
  }

  merge(partial: TopKPartial): void {
    if (partial.queries !== this.queries || partial.k !== this.k) {
      throw new Error(
        `topK: cannot merge (queries ${partial.queries}, k ${partial.k}) into (${this.queries}, ${this.k})`,
      );
    }
    for (let q = 0; q < this.queries; q++) {
      const p = partial.proponents[q];
      const o = partial.opponents[q];
      for (let r = 0; r < p.index.length; r++) this.pro[q].push(p.index[r], p.score[r]);
      for (let r = 0; r < o.index.length; r++) this.opp[q].push(o.index[r], o.score[r]);
    }
  }

  toJSON(): TopKPartial {
    return {
      k: this.k,
      queries: this.queries,
      proponents: this.pro.map((h) => h.sorted()),
      opponents: this.opp.map((h) => h.sorted()),
    };
  }

  static fromJSON(partial: TopKPartial): TopKAccumulator {
    const acc = new TopKAccumulator(partial.queries, partial.k);
    acc.merge(partial);
    return acc;
  }
}

/** Merges any number of partials (in any order: the result is the same). */
export function mergeTopK(partials: TopKPartial[]): TopKPartial {
  if (partials.length === 0) throw new Error('topK: nothing to merge');
  const acc = new TopKAccumulator(partials[0].queries, partials[0].k);
  for (const p of partials) acc.merge(p);
  return acc.toJSON();
}
