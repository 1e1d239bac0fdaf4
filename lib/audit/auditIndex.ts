import { MANIFEST, type Manifest } from '../store/commit';
import { getJson, type ObjectStore, putJson } from '../store/objectStore';
import { auditRoot } from './auditSpec';
import type { AuditSummary } from './reportAudit';

/**
 * The audits of one name are the committed manifests under `audits/<name>/<stamp>/`: listing
 * them is the source of truth (a crash between commit and index write loses nothing), and
 * `audits/<name>/index.json` is the readable copy rewritten after each commit.
 */
export interface AuditIndexEntry {
  stamp: string;
  time: string;
  prefix: string;
  rows: number;
  batches: number;
  newBatches: number;
  featurized: number;
  reused: number;
  entered: number | null;
  topScore: number | null;
}

export async function listAudits(
  store: ObjectStore,
  name: string,
): Promise<{ stamp: string; prefix: string; summary: AuditSummary }[]> {
  const root = auditRoot(name);
  const out = [];
  for (const key of await store.list(`${root}/`)) {
    const rest = key.slice(root.length + 1).split('/');
    if (rest.length !== 2 || rest[1] !== MANIFEST || rest[0] === 'plans') continue;
    const m = await getJson<Manifest<AuditSummary>>(store, key);
    out.push({ stamp: rest[0], prefix: `${root}/${rest[0]}`, summary: m.meta });
  }
  return out.sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
}

export function indexKey(name: string): string {
  return `${auditRoot(name)}/index.json`;
}

export async function writeAuditIndex(
  store: ObjectStore,
  name: string,
): Promise<AuditIndexEntry[]> {
  const entries = (await listAudits(store, name)).map(({ stamp, prefix, summary: s }) => ({
    stamp,
    time: s.time,
    prefix,
    rows: s.rows,
    batches: s.batches.length,
    newBatches: s.newData.batches.length,
    featurized: s.featurize.featurized,
    reused: s.featurize.reused,
    entered: s.comparison ? s.comparison.entered.length : null,
    topScore: s.top[0]?.score ?? null,
  }));
  await putJson(store, indexKey(name), { name, audits: entries });
  return entries;
}
