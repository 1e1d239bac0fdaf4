import { MANIFEST, sha256 } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { type Dataset, readDataset } from './dataset';
import { readAllParts, readPartitionedInfo } from './partitionedDataset';

/**
 * A data set by reference, as every job takes one: the prefix of a partitioned data set (what
 * `tda import` writes: `<prefix>/MANIFEST.json` and its parts), or the key of one Arrow file in
 * the project's format. Read whole, for the small sets a gold standard trains on; with a content
 * hash (the parts' hashes, or the file's) for content addresses.
 */
export async function readDatasetRef(
  store: ObjectStore,
  ref: string,
  what: string,
): Promise<{ dataset: Dataset; hash: string }> {
  const prefix = ref.replace(/\/+$/, '');
  if (await store.exists(`${prefix}/${MANIFEST}`)) {
    const info = await readPartitionedInfo(store, prefix);
    const dataset = await readAllParts(store, prefix);
    return { dataset, hash: sha256(info.parts.map((p) => p.sha256).join(',')) };
  }
  const bytes = await store.get(ref);
  return { dataset: readDataset(bytes, what), hash: sha256(bytes) };
}
