import { sha256 } from './store/commit';

/** Stable JSON: object keys sorted, so equal values hash equally. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Content addresses of whole jobs. A job's results are stored under (or checked against) a hash
 * of its WHOLE parsed spec, less the fields listed here, plus the content hashes of its inputs
 * and the code versions. Listing what is left out, instead of what is put in, means a field
 * added to a schema later changes the address by default (test/unit/specAddress.test.ts walks
 * every field of every schema to hold this).
 *
 * A field belongs here only if it changes how the work is scheduled and never what is computed.
 */
export const SCHEDULING_FIELDS = {
  run: [
    // Part of the run's path (runs/<name>/<hash>), not of what it computes.
    'name',
    // Activities / shards in flight and shards per child workflow.
    'window',
    'shardsPerChild',
    // Rows per featurize batch: per-example gradients do not depend on their batch
    // (test/unit/pipeline/featurizeBatchSize.test.ts compares the bytes).
    'batchSize',
  ],
  audit: ['name', 'batchSize'],
  gold: [
    // Runs in flight per child, runs per child, children in flight, timeouts, the task queue.
    'window',
    'runsPerChild',
    'childWindow',
    'heartbeatTimeout',
    'runTimeout',
    'taskQueue',
    // How often a run saves its state; a resumed run is bit-identical to an uninterrupted one.
    'checkpointEvery',
    // Set by continue-as-new: where the workflow stopped.
    'resume',
  ],
  eval: [],
} as const satisfies Record<string, readonly string[]>;

export type JobKind = keyof typeof SCHEDULING_FIELDS;

/** The spec as it enters an address: every field but the scheduling ones. */
export function addressedSpec(kind: JobKind, spec: object): Record<string, unknown> {
  const skip = new Set<string>(SCHEDULING_FIELDS[kind]);
  return Object.fromEntries(Object.entries(spec).filter(([k]) => !skip.has(k)));
}

/**
 * What a job's result depends on: the addressed spec, its inputs' content hashes (data parts,
 * checkpoints, score files) and code versions. Stored with the result; compared on every read.
 */
export function addressBody(kind: JobKind, spec: object, inputs: unknown): unknown {
  return JSON.parse(canonical({ kind, spec: addressedSpec(kind, spec), inputs }));
}

export function specAddress(kind: JobKind, spec: object, inputs: unknown, length = 16): string {
  return sha256(canonical(addressBody(kind, spec, inputs))).slice(0, length);
}

/** The first path at which two JSON values differ ('' when equal), for error messages. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (canonical(a) === canonical(b)) return null;
  if (
    a &&
    b &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    !Array.isArray(a) === !Array.isArray(b)
  ) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
      const d = firstDifference(ao[k], bo[k], path ? `${path}.${k}` : k);
      if (d !== null) return d;
    }
  }
  return path || '(whole spec)';
}

/**
 * Throws (via `fail`) unless a stored result's address body equals the request's: a result is
 * never served for a spec it was not computed for, whatever its key says.
 */
export function checkSameAddress(
  stored: unknown,
  requested: unknown,
  where: string,
  fail: (msg: string) => Error,
): void {
  const d = firstDifference(stored, requested);
  if (d === null) return;
  throw fail(
    `${where} holds a result computed for a different spec (they differ at ${d}); refusing to serve it`,
  );
}
