/**
 * The audit's report stage. Over 300 lines because the summary's type, the ranking it is built
 * from (in-sample or out-of-fold), the per-class lines and the HTML page are one unit: each
 * field of the summary is computed and rendered here.
 */
import { z } from 'zod';
import { metadataOf, readColumn, readTable, writeColumns } from '../arrow/columns';
import { jsonText, parseWith } from '../jsonText';
import type { RunContext } from '../pipeline/runContext';
import { DEFAULT_SELF_SCORE, selfScoreName } from '../pipeline/runSpec';
import { renderReport } from '../report/renderReport';
import { readCommitted, readManifest, Transaction } from '../store/commit';
import { listAudits, writeAuditIndex } from './auditIndex';
import { auditPartCount, auditPartOf, readPartScores } from './auditSelfScores';
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
  /**
   * Parts (shards of batches) whose content-addressed self-score step (TracIn self-scores, or the
   * influence curvature partials) this audit computed vs found committed by an earlier one.
   */
  selfScoreParts: { total: number; computed: number; reused: number };
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
 * The audit's last stage: every example's self-score from its part's committed result
 * (auditSelfScores.ts; no feature file is read here), the full
 * ranking, the comparison with the previous audit, and the report (summary JSON, Arrow ranking,
 * HTML) committed under the audit's prefix by one manifest; then the index is rewritten.
 */
export async function reportAudit(
  ctx: RunContext,
  args: {
    planKey: string;
    featurized: number;
    reused: number;
    /** Parts whose content-addressed self-score step this audit computed vs found committed. */
    parts: { computed: number; reused: number };
  },
  onProgress: (partsRead: number) => void = () => {},
): Promise<AuditSummary> {
  const { store } = ctx;
  const plan = await readAuditPlan(store, args.planKey);
  const done = await readManifest<AuditSummary>(store, plan.prefix);
  if (done) return done.meta;

  const n = plan.rows;
  const batch = new Int32Array(n);
  const ids = new Int32Array(n);
  const labels = new Int32Array(n);
  const scores = new Float64Array(n);
  // The audited model's fit per row (its last checkpoint's loss < ln 2: p(given label) > 0.5).
  const fits = new Uint8Array(n);
  const self = plan.spec.selfScore ?? DEFAULT_SELF_SCORE;
  // Every part (shard of a batch) in ranking order: its small result file, never its features.
  let row = 0;
  for (let p = 0; p < auditPartCount(plan); p++) {
    const part = await readPartScores(ctx, plan, p);
    const m = part.scores.length;
    if (row + m > n)
      throw new Error(`audit ${plan.prefix}: parts cover more rows than data (${n})`);
    batch.fill(auditPartOf(plan, p).batch, row, row + m);
    ids.set(part.ids, row);
    labels.set(part.labels, row);
    scores.set(part.scores, row);
    part.loss.forEach((l, j) => {
      fits[row + j] = l < Math.LN2 ? 1 : 0;
    });
    row += m;
    onProgress(p + 1);
  }
  if (row !== n) throw new Error(`audit ${plan.prefix}: parts cover ${row} rows, data ${n}`);
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
    selfScoreParts: {
      total: args.parts.computed + args.parts.reused,
      computed: args.parts.computed,
      reused: args.parts.reused,
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
