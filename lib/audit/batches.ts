import { type PartitionedInfo, readPartitionedInfo } from '../data/partitionedDataset';
import { MANIFEST } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { AuditInputError } from './auditSpec';

/**
 * The growing training set: one partitioned data set per batch under a data prefix
 * (`<data>/<batch>/`), each committed once by its manifest. A batch still being written has no
 * manifest and is not seen yet. Batches sort by name, so dated names (2025-06-01) sort by time.
 */
export interface Batch {
  name: string;
  prefix: string;
  info: PartitionedInfo;
}

export async function listBatches(store: ObjectStore, data: string): Promise<Batch[]> {
  const root = data.replace(/\/+$/, '');
  const names = new Set<string>();
  for (const key of await store.list(`${root}/`)) {
    const rest = key.slice(root.length + 1).split('/');
    if (rest.length === 2 && rest[1] === MANIFEST) names.add(rest[0]);
  }
  if (names.size === 0) {
    throw new AuditInputError(
      `data: no data sets under "${root}/" in ${store.uri} (expected ${root}/<batch>/${MANIFEST})`,
    );
  }
  const batches: Batch[] = [];
  for (const name of [...names].sort()) {
    const prefix = `${root}/${name}`;
    const info = await readPartitionedInfo(store, prefix);
    const first = batches[0]?.info;
    if (first && JSON.stringify(first.shape) !== JSON.stringify(info.shape)) {
      throw new AuditInputError(
        `data: batch "${name}" has examples of shape [${info.shape}], batch "${batches[0].name}" [${first.shape}]`,
      );
    }
    if (first && JSON.stringify(first.classes) !== JSON.stringify(info.classes)) {
      throw new AuditInputError(
        `data: batch "${name}" has classes [${info.classes}], batch "${batches[0].name}" [${first.classes}]`,
      );
    }
    batches.push({ name, prefix, info });
  }
  return batches;
}
