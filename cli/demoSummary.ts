import type { AuditSummary } from '../lib/audit/reportAudit';
import type { Detection } from '../lib/eval/auditDetection';
import type { RecordedFigure } from '../lib/eval/recordedBaselines';

/**
 * What `npm start` says about its mislabel audit, in lines and as its JSON summary: the ranking
 * it used, how many flipped labels that found, the fold models' held-out accuracy, the suspects
 * per class, the classes where detection is unreliable, and the recorded peer figure on the same
 * rows, flipped labels and folds.
 */
export interface DemoAudit {
  summary: AuditSummary;
  detection: Detection;
  /** The attribution run's in-sample self-score ranking, for comparison (if its data has flips). */
  inSample?: { method: string; detection: Detection };
  peer: RecordedFigure;
  seconds: number;
}

export const foundAt = (d: Detection, fraction: number): number =>
  d.foundAt.find((x) => x.fraction === fraction)?.found ?? Number.NaN;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function demoAuditLines(a: DemoAudit): string[] {
  const { summary: s, detection: d, peer } = a;
  const at10 = foundAt(d, 0.1);
  const lines = [
    `mislabel audit, ranked by ${s.method}: ${Math.round(at10 * d.flippedTotal)} of ${d.flippedTotal} flipped labels (${pct(at10)}) ` +
      `are in the top 10% of training examples; top 20%: ${pct(foundAt(d, 0.2))}; ROC AUC ${d.auc.toFixed(3)} (${a.seconds.toFixed(1)} s)`,
  ];
  if (s.outOfFold) {
    lines.push(
      `  fold models (${s.outOfFold.folds}): held-out accuracy ${s.outOfFold.accuracy.toFixed(3)} (per fold ${s.outOfFold.foldAccuracy.map((x) => x.toFixed(3)).join(', ')})`,
    );
  }
  lines.push(
    `  suspects per class in the top ${s.top.length}: ${s.classes.map((c) => `${c.name} ${c.suspects}`).join(', ')}`,
  );
  const unreliable = s.classes.filter((c) => c.unreliable);
  lines.push(
    `  detection unreliable (accuracy below 0.5, ${s.classAccuracy}): ${unreliable.map((c) => `${c.name} ${c.accuracy?.toFixed(2)}`).join(', ') || 'no class'}`,
  );
  const points = 100 * (at10 - peer.foundAt10);
  lines.push(
    `  vs ${peer.method}, same rows, flipped labels and folds (${peer.source}, recorded): ${pct(peer.foundAt10)} at 10%, ${pct(peer.foundAt20)} at 20%, AUC ${peer.auc.toFixed(3)}; ` +
      `this audit ${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} points at 10%`,
  );
  if (a.inSample) {
    const i = a.inSample.detection;
    lines.push(
      `  the attribution's in-sample ranking alone (${a.inSample.method}): ${pct(foundAt(i, 0.1))} at 10%, ${pct(foundAt(i, 0.2))} at 20%, AUC ${i.auc.toFixed(3)}`,
    );
  }
  return lines;
}

/** The audit's part of the JSON summary `npm start` prints last and writes beside its report. */
export function demoAuditJson(a: DemoAudit): Record<string, unknown> {
  const { summary: s, detection: d, peer } = a;
  return {
    flipped: d.flippedTotal,
    ranked_by: s.method,
    rank_by: s.outOfFold?.rankBy ?? null,
    found_at_10pct: foundAt(d, 0.1),
    found_at_20pct: foundAt(d, 0.2),
    auc: d.auc,
    fold_heldout_accuracy: s.outOfFold?.accuracy ?? null,
    fold_accuracy: s.outOfFold?.foldAccuracy ?? null,
    suspects_per_class: Object.fromEntries(s.classes.map((c) => [c.name, c.suspects])),
    suspects_of: s.top.length,
    unreliable_classes: s.classes.filter((c) => c.unreliable).map((c) => c.name),
    peer: {
      method: peer.method,
      found_at_10pct: peer.foundAt10,
      found_at_20pct: peer.foundAt20,
      auc: peer.auc,
      source: `${peer.source} (recorded)`,
      command: peer.command,
    },
    vs_peer_at_10pct: foundAt(d, 0.1) - peer.foundAt10,
    in_sample: a.inSample
      ? {
          ranked_by: a.inSample.method,
          found_at_10pct: foundAt(a.inSample.detection, 0.1),
          found_at_20pct: foundAt(a.inSample.detection, 0.2),
          auc: a.inSample.detection.auc,
        }
      : null,
    audit_s: a.seconds,
    audit_report: s.files.report,
  };
}
