import type { GoldStandard } from '../gold/furtherTraining';
import { philox4x32, seedKey, toUnit } from '../train/philox';

/**
 * How well a method's scores agree with the gold standard: per query, the cosine similarity and
 * the Spearman rank correlation between the two score vectors over training examples; averaged
 * over queries; with a bootstrap confidence interval that resamples QUERIES (the examples of a
 * query are one vector, so a query is the independent unit), 95% percentile interval by default.
 * Queries whose metric is undefined (a constant or all-zero score vector) are left out and
 * counted in `queriesUsed`.
 */

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length)
    throw new Error(`cosine of vectors of length ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? Number.NaN : ab / Math.sqrt(aa * bb);
}

/** 1-based ranks, ties given the average of the ranks they span. */
export function averageRanks(a: ArrayLike<number>): Float64Array {
  const n = a.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(a[i])) throw new Error(`cannot rank a vector containing NaN (index ${i})`);
  }
  order.sort((i, j) => a[i] - a[j]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && a[order[j + 1]] === a[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error(`correlation of vectors of length ${n} and ${b.length}`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return aa === 0 || bb === 0 ? Number.NaN : ab / Math.sqrt(aa * bb);
}

/** Spearman's rank correlation: Pearson correlation of the (tie-averaged) ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}

export interface AgreementOptions {
  /** Bootstrap resamples (default 1000; 0 = no interval). */
  resamples?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
  /** Coverage of the percentile interval (default 0.95). */
  confidence?: number;
}

export interface Agreement {
  cosine: number;
  cosineCI: [number, number];
  spearman: number;
  spearmanCI: [number, number];
  /** Per-query values (NaN where undefined). */
  perQuery: { cosine: Float64Array; spearman: Float64Array };
  queriesUsed: { cosine: number; spearman: number };
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function meanDefined(values: Float64Array): number {
  let s = 0;
  let c = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      s += v;
      c++;
    }
  }
  return c ? s / c : Number.NaN;
}

/** Percentile bootstrap interval of the mean over queries, resampling queries. */
export function bootstrapMeanCI(
  perQuery: Float64Array,
  opts: AgreementOptions = {},
): [number, number] {
  const resamples = opts.resamples ?? 1000;
  const conf = opts.confidence ?? 0.95;
  if (!(conf > 0 && conf < 1)) throw new Error(`confidence must be in (0, 1), got ${conf}`);
  const defined = perQuery.filter((v) => !Number.isNaN(v));
  const q = defined.length;
  if (resamples === 0 || q === 0) return [Number.NaN, Number.NaN];
  const [k0, k1] = seedKey(opts.seed ?? 0);
  const out = new Uint32Array(4);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < q; i += 4) {
      philox4x32(3, r, i >>> 2, 0, k0, k1, out);
      for (let w = 0; w < 4 && i + w < q; w++) s += defined[Math.floor(toUnit(out[w]) * q)];
    }
    means[r] = s / q;
  }
  means.sort();
  return [quantile(means, (1 - conf) / 2), quantile(means, 1 - (1 - conf) / 2)];
}

/**
 * Agreement of `method` with `gold`, both queries × examples row-major over the same examples.
 */
export function agreement(
  method: ArrayLike<number>,
  gold: ArrayLike<number>,
  queries: number,
  examples: number,
  opts: AgreementOptions = {},
): Agreement {
  if (method.length !== queries * examples || gold.length !== queries * examples) {
    throw new Error(
      `score matrices must be ${queries} queries × ${examples} examples = ${queries * examples} values; got method ${method.length}, gold ${gold.length}`,
    );
  }
  const cos = new Float64Array(queries);
  const sp = new Float64Array(queries);
  for (let j = 0; j < queries; j++) {
    const a = Array.prototype.slice.call(method, j * examples, (j + 1) * examples) as number[];
    const b = Array.prototype.slice.call(gold, j * examples, (j + 1) * examples) as number[];
    cos[j] = cosine(a, b);
    sp[j] = spearman(a, b);
  }
  const used = (v: Float64Array) => v.filter((x) => !Number.isNaN(x)).length;
  return {
    cosine: meanDefined(cos),
    cosineCI: bootstrapMeanCI(cos, opts),
    spearman: meanDefined(sp),
    spearmanCI: bootstrapMeanCI(sp, opts),
    perQuery: { cosine: cos, spearman: sp },
    queriesUsed: { cosine: used(cos), spearman: used(sp) },
  };
}

export interface AgreementAtStep extends Agreement {
  step: number;
}

/**
 * Agreement with the gold standard at each recorded T. `method` is queries × gold.examples
 * (columns in gold.examples order): a method's scores at θ_f do not depend on T.
 */
export function agreementOverSteps(
  method: ArrayLike<number>,
  gold: GoldStandard,
  opts: AgreementOptions = {},
): AgreementAtStep[] {
  return gold.steps.map((step, t) => ({
    step,
    ...agreement(method, gold.score[t], gold.queries, gold.examples.length, opts),
  }));
}
