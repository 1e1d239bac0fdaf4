import { sha256 } from '../store/commit';

/**
 * Shards are row ranges of a partitioned data set that never cross a part, so a shard's content
 * hash follows from its part's hash: changing one part re-featurizes only that part's shards.
 */
export interface PartInfo {
  /** Part file name in the data set's manifest. */
  name: string;
  rows: number;
  sha256: string;
}

export interface Shard {
  index: number;
  part: number;
  /** Row range within the part, [start, end). */
  start: number;
  end: number;
  /** Global row offset of the shard's first row. */
  offset: number;
  /** Content address: the part's hash and the range. */
  hash: string;
}

export function planShards(parts: PartInfo[], shardSize: number): Shard[] {
  if (!Number.isInteger(shardSize) || shardSize < 1) {
    throw new Error(`shard size must be a positive integer, got ${shardSize}`);
  }
  const shards: Shard[] = [];
  let offset = 0;
  parts.forEach((p, part) => {
    for (let start = 0; start < p.rows; start += shardSize) {
      const end = Math.min(p.rows, start + shardSize);
      shards.push({
        index: shards.length,
        part,
        start,
        end,
        offset: offset + start,
        hash: sha256(`${p.sha256}:${start}:${end}`).slice(0, 32),
      });
    }
    offset += p.rows;
  });
  return shards;
}
