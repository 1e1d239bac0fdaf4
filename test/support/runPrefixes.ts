/**
 * The S3 prefixes one attribute run writes under: its run prefix (plan, partials, results) and
 * one per feature file (every train and query shard at every checkpoint, keyed by content as the
 * pipeline keys them). Benchmarks size them (runStats), delete them before a run so it does the
 * work (bench:main, and tests that must not find an earlier run's files), and delete them after
 * one so repeated runs do not fill the disk (bench:scale: a 1M run writes 3 GB of data and 2.3 GB
 * of features and results).
 */
import { featureKey } from '../../lib/pipeline/keys';
import type { Plan } from '../../lib/pipeline/types';
import type { ObjectStore } from '../../lib/store/objectStore';

export interface RunPrefixes {
  run: string;
  features: string[];
}

/** Each prefix ends with '/', so a listing never takes a sibling whose name extends it. */
export function runPrefixes(plan: Plan): RunPrefixes {
  const features: string[] = [];
  for (const set of ['train', 'query'] as const) {
    for (const sh of plan[set].shards) {
      for (const ck of plan.checkpoints) {
        features.push(`${featureKey(ck.hash, plan.featureSpecHash, sh.hash)}/`);
      }
    }
  }
  return { run: `${plan.runPrefix}/`, features };
}

/** Deletes every key under the prefixes, 16 requests at a time; the number deleted. */
export async function deletePrefixes(s3: ObjectStore, prefixes: string[]): Promise<number> {
  let deleted = 0;
  for (const prefix of prefixes) {
    const keys = await s3.list(prefix);
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(keys.slice(i, i + 16).map((k) => s3.delete(k)));
    }
    deleted += keys.length;
  }
  return deleted;
}
