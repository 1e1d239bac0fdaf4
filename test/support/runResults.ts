import { readColumn, readTable } from '../../lib/arrow/columns';
import type { RunSummary } from '../../lib/pipeline/types';
import type { ObjectStore } from '../../lib/store/objectStore';

/** A committed run's results as plain arrays, for comparing two runs exactly. */
export async function readRunResults(store: ObjectStore, summary: RunSummary) {
  const topk = readTable(await store.get(summary.files.topk));
  const ex = readTable(await store.get(summary.files.examples));
  return {
    index: Array.from(readColumn<Int32Array>(topk, 'index', 'int32').values),
    score: Array.from(readColumn<Float64Array>(topk, 'score', 'float64').values),
    kind: Array.from(readColumn<Int32Array>(topk, 'kind', 'int32').values),
    self: Array.from(readColumn<Float64Array>(ex, 'self_influence', 'float64').values),
    aggregate: Array.from(readColumn<Float64Array>(ex, 'aggregate', 'float64').values),
  };
}
