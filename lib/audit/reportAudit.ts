/**
 * The audit's report stage. Over 300 lines because the summary's type, the ranking it is built
 * from (in-sample or out-of-fold), the per-class lines and the HTML page are one unit: each
 * field of the summary is computed and rendered here.
 */
import { z } from 'zod';
import { metadataOf, readColumn, readTable, writeColumns } from '../arrow/columns';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { jsonText, parseWith } from '../jsonText';
import { selectLayers } from '../methods/selectLayers';
import { selfInfluence } from '../methods/selfInfluence';
import { influenceSelfPasses } from '../pipeline/influenceSelfPasses';
import type { RunContext } from '../pipeline/runContext';
import { DEFAULT_SELF_SCORE, selfScoreName } from '../pipeline/runSpec';
import type { Plan } from '../pipeline/types';
import { renderReport } from '../report/renderReport';
import { readCommitted, readManifest, Transaction } from '../store/commit';
import { getJson } from '../store/objectStore';
import { listAudits, writeAuditIndex } from './auditIndex';
import { type ClassLine, classSummary } from './classSummary';
import { type Comparison, compareRankings, type Ranking, rankExamples } from './compareRankings';
import { outOfFoldRanking } from './outOfFoldRanking';
import type { OutOfFoldRanking } from './outOfFoldSpec';
import { readAuditPlan } from './planAudit';
import { listRejected, type RejectedFile } from './rawBatches';

const META_KEY = 'tda.audit' as const;

interface TopEntry {
  batch: string;
  id: number;
  label: number;
  score: number;
  rank: number;
  newData: boolean;
}

/** The committed audit's manifest meta, and what the workflow returns. */
export interface AuditSummary {
  name: string;
  stamp: string;
  time: string;
  prefix: string;
  manifestKey: string;
  data: string;
  checkpoints: string;
  modelHash: string;
  checkpointCount: number;
  /** What the audit ranked by (the self-score, or an out-of-fold ranking). */
  method: string;
  /** The audited model's in-sample self-score (the ranking unless outOfFold is set). */
  selfScore: string;
  /** Per given class: rows, suspects among the top, accuracy, unreliable detection. */
  classes: ClassLine[];
  /** Where the accuracy per class comes from. */
  classAccuracy: 'out-of-fold (held-out)' | 'audited model, p(given label) > 0.5';
  outOfFold: {
    folds: number;
    rankBy: OutOfFoldRanking;
    /** The fold models' accuracy on the rows they did not see, overall and per fold. */
    accuracy: number;
    foldAccuracy: number[];
    /** Per fold, the step an attempt resumed from (0: trained in one go). */
    resumedFrom: number[];
    prefix: string;
  } | null;
  rows: number;
  batches: { name: string; rows: number; shards: number; newData: boolean }[];
  /** Feature files (shard × checkpoint) computed by this audit vs found committed. */
  featurize: { total: number; featurized: number; reused: number };
  top: TopEntry[];
  /** Batches that no earlier audit saw. */
  newData: { batches: string[]; rows: number; inTop: number; top: TopEntry[] };
  previous: { stamp: string; time: string; rows: number } | null;
  comparison: Omit<Comparison, 'previousScore' | 'previousRank'> | null;
  /** Every earlier audit: how much of its top-K is still in this one's. */
  history: { stamp: string; time: string; rows: number; topOverlap: number }[];
  files: { summary: string; ranking: string; report: string; plan: string };
  /** What the user must know about the inputs (e.g. a model that has not learned). */
  warnings?: string[];
  /** Raw files (audit input `raw`) rejected so far for not matching the data set's encoding. */
  rejectedFiles?: RejectedFile[];
}

/**
 * The audit's last stage: self-influence of every example from the committed features, the full
 * ranking, the comparison with the previous audit, and the report (summary JSON, Arrow ranking,
 * HTML) committed under the audit's prefix by one manifest; then the index is rewritten.
 */
export async function reportAudit(
  ctx: RunContext,
  args: { planKey: string; featurized: number; reused: number },
  onProgress: (shardsRead: number) => void = () => {},
): Promise<AuditSummary> {
  const { store } = ctx;
  const plan = await readAuditPlan(store, args.planKey);
  const done = await readManifest<AuditSummary>(store, plan.prefix);
  if (done) return done.meta;
  const cks: CheckpointInfo[] = plan.checkpoints.map((c) => ({
    step: c.step,
    learningRate: c.learningRate,
  }));

  const n = plan.rows;
  const batch = new Int32Array(n);
  const ids = new Int32Array(n);
  const labels = new Int32Array(n);
  const scores = new Float64Array(n);
  const self = plan.spec.selfScore ?? DEFAULT_SELF_SCORE;
  // Every shard of every batch, in ranking order.
  const parts: { plan: Plan; shard: number; batch: number }[] = [];
  for (let b = 0; b < plan.batches.length; b++) {
    const batchPlan = await getJson<Plan>(store, plan.batches[b].planKey);
    for (let s = 0; s < batchPlan.train.shards.length; s++) {
      parts.push({ plan: batchPlan, shard: s, batch: b });
    }
  }
  // A part's ids and labels come with whichever of its feature files is read first.
  const rowsOf: { ids: Int32Array; labels: Int32Array }[] = [];
  // The audited model's loss per row (its last checkpoint): how well it fits each given label.
  const lossOf: Float32Array[] = [];
  const features = async (p: number, c: number): Promise<ExampleFeatures> => {
    const f = await ctx.features(parts[p].plan, 'train', parts[p].shard, c);
    rowsOf[p] ??= { ids: f.ids, labels: f.labels };
    if (c === cks.length - 1) lossOf[p] ??= f.features.loss;
    return f.features;
  };
  let read = 0;
  let perPart: Float64Array[];
  if (self.kind === 'tracin') {
    perPart = [];
    for (let p = 0; p < parts.length; p++) {
      const feats: ExampleFeatures[] = [];
      for (let c = 0; c < cks.length; c++) feats.push(await features(p, c));
      perPart.push(selfInfluence(feats, cks, 'exact'));
      onProgress(++read);
    }
  } else {
    // The curvature needs every shard of every batch: two passes over their features.
    perPart = await influenceSelfPasses({
      parts: parts.length,
      checkpoints: cks,
      read: async (p, c) => selectLayers(await features(p, c), self.layers),
      curvature: { relativeDamping: self.relativeDamping },
      onPart: () => onProgress(++read),
    });
  }
  const covered = perPart.reduce((sum, v) => sum + v.length, 0);
  if (covered !== n) {
    throw new Error(`audit ${plan.prefix}: features cover ${covered} rows, data ${n}`);
  }
  let row = 0;
  const fits = new Uint8Array(n);
  perPart.forEach((v, p) => {
    batch.fill(parts[p].batch, row, row + v.length);
    ids.set(rowsOf[p].ids, row);
    labels.set(rowsOf[p].labels, row);
    scores.set(v, row);
    lossOf[p].forEach((l, j) => {
      fits[row + j] = l < Math.LN2 ? 1 : 0;
    });
    row += v.length;
  });
  const names = plan.batches.map((b) => b.name);
  const oof = plan.outOfFold ? await outOfFoldRanking(store, plan, scores) : null;
  const ranking = rankExamples(names, batch, ids, oof ? oof.scores : scores, labels);

  const earlier = (await listAudits(store, plan.spec.name)).filter((a) => a.stamp < plan.stamp);
  const prev = earlier[earlier.length - 1];
  const seenBatches = new Set(earlier.flatMap((a) => a.summary.batches.map((x) => x.name)));
  const isNew = names.map((x) => !seenBatches.has(x));
  let comparison: Comparison | null = null;
  if (prev) {
    const bytes = await readCommitted(store, prev.prefix, 'ranking.arrow');
    comparison = compareRankings(
      ranking,
      readRanking(bytes, `${prev.prefix}/ranking.arrow`),
      plan.spec.topK,
    );
  }

  const K = Math.min(plan.spec.topK, n);
  const entry = (r: number): TopEntry => ({
    batch: names[ranking.batch[r]],
    id: ranking.id[r],
    label: ranking.label?.[r] ?? -1,
    score: ranking.score[r],
    rank: r,
    newData: isNew[ranking.batch[r]],
  });
  const top = Array.from({ length: K }, (_, r) => entry(r));
  const newTop: TopEntry[] = [];
  for (let r = 0; r < n && newTop.length < K; r++) {
    if (isNew[ranking.batch[r]]) newTop.push(entry(r));
  }
  const topSet = new Set(top.map((t) => `${t.batch}\u0000${t.id}`));
  const classes = classSummary(
    plan.classes,
    labels,
    top.map((t) => t.label),
    oof ? oof.classAccuracy : fitShare(plan.classes.length, labels, fits),
  );

  const tx = new Transaction(store, plan.prefix);
  const rankingFile = await tx.put(
    'ranking.arrow',
    writeColumns(
      n,
      {
        rank: { values: Int32Array.from({ length: n }, (_, i) => i) },
        batch: { values: ranking.batch },
        id: { values: ranking.id },
        label: { values: ranking.label ?? new Int32Array(n).fill(-1) },
        score: { values: ranking.score },
        previous_score: {
          values: comparison?.previousScore ?? new Float64Array(n).fill(Number.NaN),
        },
        previous_rank: { values: comparison?.previousRank ?? new Int32Array(n).fill(-1) },
        new_data: { values: Int32Array.from(ranking.batch, (b) => (isNew[b] ? 1 : 0)) },
      },
      { [META_KEY]: JSON.stringify({ batches: names, stamp: plan.stamp, name: plan.spec.name }) },
    ),
  );
  const last = plan.checkpoints[plan.checkpoints.length - 1];
  const summary: AuditSummary = {
    name: plan.spec.name,
    stamp: plan.stamp,
    time: plan.time,
    prefix: plan.prefix,
    manifestKey: `${plan.prefix}/MANIFEST.json`,
    data: plan.spec.data,
    checkpoints: plan.spec.checkpoints,
    modelHash: last.hash,
    checkpointCount: plan.checkpoints.length,
    method: oof ? outOfFoldName(oof.rankBy, selfScoreName(self)) : selfScoreName(self),
    selfScore: selfScoreName(self),
    classes,
    classAccuracy: oof ? 'out-of-fold (held-out)' : 'audited model, p(given label) > 0.5',
    outOfFold: oof && {
      folds: oof.folds.length,
      rankBy: oof.rankBy,
      accuracy: oof.accuracy,
      foldAccuracy: oof.folds.map((f) => f.accuracy),
      resumedFrom: oof.folds.map((f) => f.resumedFrom),
      prefix: (plan.outOfFold as { prefix: string }).prefix,
    },
    rows: n,
    batches: plan.batches.map((b, i) => ({
      name: b.name,
      rows: b.rows,
      shards: b.shards,
      newData: isNew[i],
    })),
    featurize: {
      total: args.featurized + args.reused,
      featurized: args.featurized,
      reused: args.reused,
    },
    top,
    newData: {
      batches: names.filter((_, i) => isNew[i]),
      rows: plan.batches.reduce((s, b, i) => s + (isNew[i] ? b.rows : 0), 0),
      inTop: top.filter((t) => t.newData).length,
      top: newTop,
    },
    previous: prev ? { stamp: prev.stamp, time: prev.summary.time, rows: prev.summary.rows } : null,
    comparison: comparison && {
      entered: comparison.entered,
      left: comparison.left,
      drift: comparison.drift,
    },
    history: earlier.map((a) => ({
      stamp: a.stamp,
      time: a.summary.time,
      rows: a.summary.rows,
      topOverlap: a.summary.top.filter((t) => topSet.has(`${t.batch}\u0000${t.id}`)).length,
    })),
    files: { summary: '', ranking: rankingFile.key, report: '', plan: args.planKey },
    ...(plan.warnings ? { warnings: plan.warnings } : {}),
  };
  if (plan.spec.raw) summary.rejectedFiles = await listRejected(store, plan.spec.data);
  const html = await tx.put('report.html', renderAuditHtml(summary, plan.classes, ranking.score));
  summary.files.report = html.key;
  summary.files.summary = `${tx.attemptPrefix}/summary.json`;
  await tx.put('summary.json', JSON.stringify(summary, null, 1));
  const committed = (await tx.commit(summary)).meta;
  await writeAuditIndex(store, plan.spec.name);
  return committed;
}

/** Per class, the share of rows whose given label the audited model fits (p > 0.5). */
function fitShare(k: number, labels: Int32Array, fits: Uint8Array): (number | null)[] {
  const rows = new Array(k).fill(0);
  const fit = new Array(k).fill(0);
  labels.forEach((y, i) => {
    if (y < 0) return;
    rows[y]++;
    fit[y] += fits[i];
  });
  return rows.map((m, c) => (m > 0 ? fit[c] / m : null));
}

/** An out-of-fold ranking in words. */
export function outOfFoldName(r: OutOfFoldRanking, selfScore: string): string {
  switch (r) {
    case 'selfConfidence':
      return 'out-of-fold self-confidence (1 − p(given label) from the fold model)';
    case 'selfConfidenceCheckpoints':
      return "out-of-fold self-confidence averaged over the fold model's checkpoints";
    case 'selfInfluence':
      return "out-of-fold influence self-score (the fold model's checkpoints, last layer)";
    case 'rankAverage':
      return 'rank average of out-of-fold self-confidence and the fold influence self-score';
    case 'rankAverageWithSelfScore':
      return `rank average of out-of-fold self-confidence (over the fold checkpoints) and ${selfScore}`;
  }
}

const rankingMetadata = z.object({
  [META_KEY]: jsonText(z.object({ batches: z.array(z.string()) })),
});

/** Reads a committed audit ranking back (best first). */
export function readRanking(bytes: Uint8Array, what = 'audit ranking'): Ranking {
  const table = readTable(bytes, what);
  const meta = metadataOf(table);
  if (!meta[META_KEY])
    throw new Error(`${what} has no "${META_KEY}" metadata: not an audit ranking`);
  return {
    batches: parseWith(rankingMetadata, meta, `${what}: schema metadata`)[META_KEY].batches,
    batch: readColumn<Int32Array>(table, 'batch', 'int32', what).values,
    id: readColumn<Int32Array>(table, 'id', 'int32', what).values,
    score: readColumn<Float64Array>(table, 'score', 'float64', what).values,
    label: readColumn<Int32Array>(table, 'label', 'int32', what).values,
  };
}

function renderAuditHtml(s: AuditSummary, classes: string[], scores: Float64Array): string {
  const extra: Record<string, string | number> = {
    data: s.data,
    batches: s.batches.length,
    'new batches': s.newData.batches.join(', ') || 'none',
    'feature files computed / reused': `${s.featurize.featurized} / ${s.featurize.reused}`,
    'ranked by': s.method,
  };
  if (s.outOfFold) {
    extra['fold models, held-out accuracy'] =
      `${s.outOfFold.accuracy.toFixed(3)} (per fold ${s.outOfFold.foldAccuracy.map((a) => a.toFixed(3)).join(', ')})`;
  }
  extra[`suspects per class (top ${s.top.length})`] = s.classes
    .map((c) => `${c.name} ${c.suspects}`)
    .join(', ');
  extra[`accuracy per class (${s.classAccuracy})`] = s.classes
    .map((c) => `${c.name} ${c.accuracy === null ? '—' : c.accuracy.toFixed(2)}`)
    .join(', ');
  const unreliable = s.classes.filter((c) => c.unreliable);
  extra['detection unreliable (the model has not learned the class)'] =
    unreliable.map((c) => c.name).join(', ') || 'none';
  for (const r of s.rejectedFiles ?? []) extra[`rejected file ${r.file}`] = r.error;
  if (s.previous && s.comparison) {
    extra['previous audit'] = s.previous.time;
    extra['entered the top'] = s.comparison.entered.length;
    extra['left the top'] = s.comparison.left.length;
    extra['score drift, mean |Δ|'] = s.comparison.drift.meanAbsDelta;
  }
  return renderReport({
    title: `Audit "${s.name}" of ${s.time}`,
    classes,
    run: {
      method: s.method,
      modelHash: s.modelHash,
      trainCount: s.rows,
      queryCount: 0,
      checkpoints: s.checkpointCount,
      dataset: s.data,
      createdAt: s.time,
      extra,
    },
    queries: [],
    warnings: s.warnings,
    distributions: [{ name: 'self-influence', values: scores }],
    mislabels: {
      method: s.method,
      rows: s.top.map((t) => ({
        id: t.id,
        score: t.score,
        givenLabel: t.label,
        text: `batch ${t.batch}${t.newData ? ' (new)' : ''}`,
      })),
    },
  });
}
