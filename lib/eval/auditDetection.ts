/**
 * How well a committed audit's ranking finds the flipped labels its batches record (data made by
 * lib/data/labelNoise): the fraction found in the top 5/10/20/30% and the ROC AUC, scored by
 * lib/eval/mislabel on the audit's own order (its ties already broken by batch, then id).
 */
import type { Ranking } from '../audit/compareRankings';
import { readAuditPlan } from '../audit/planAudit';
import { type AuditSummary, readRanking } from '../audit/reportAudit';
import { readFlipped } from '../data/partitionedDataset';
import { readCommitted } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { type MislabelReport, mislabelReport } from './mislabel';

export type Detection = MislabelReport & { flippedTotal: number };

/** Per batch name, its rows' ids and flipped flags. */
export type FlippedByBatch = Map<string, { ids: Int32Array; flipped: Uint8Array }>;

export function rankingDetection(ranking: Ranking, flips: FlippedByBatch): Detection {
  const byBatch = ranking.batches.map((name) => {
    const f = flips.get(name);
    if (!f) throw new Error(`no flipped labels recorded for batch "${name}"`);
    return new Map(Array.from(f.ids, (id, i) => [id, f.flipped[i] === 1]));
  });
  const flipped = Array.from(ranking.id, (id, r) => {
    const v = byBatch[ranking.batch[r]].get(id);
    if (v === undefined) {
      throw new Error(`batch "${ranking.batches[ranking.batch[r]]}" has no row with id ${id}`);
    }
    return v;
  });
  return {
    ...mislabelReport(ranking.score, flipped),
    flippedTotal: flipped.reduce((s, f) => s + (f ? 1 : 0), 0),
  };
}

/** The committed audit's detection; undefined when a batch does not record its flips. */
export async function auditDetection(
  store: ObjectStore,
  summary: AuditSummary,
): Promise<Detection | undefined> {
  const plan = await readAuditPlan(store, summary.files.plan);
  const flips: FlippedByBatch = new Map();
  for (const b of plan.batches) {
    const f = await readFlipped(store, b.prefix);
    if (!f) return undefined;
    flips.set(b.name, f);
  }
  const ranking = readRanking(
    await readCommitted(store, summary.prefix, 'ranking.arrow'),
    `${summary.prefix}/ranking.arrow`,
  );
  return rankingDetection(ranking, flips);
}
