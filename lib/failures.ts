/**
 * What a failure means for a retry, decided in one place for every activity (the adapter is
 * activities/failures.ts; this file knows nothing of Temporal). A transient fault (the network,
 * the object store's server, a timeout) is worth retrying; anything else is about the input and
 * no retry can fix it: a SpecError when the run spec is at fault, otherwise an InputError.
 */
import { NotFoundError } from './store/objectStore';

export type FailureKind = 'transient' | 'SpecError' | 'InputError';

/** Connection-level error codes of Node's sockets and DNS resolver. */
const TRANSIENT_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'];

/**
 * The one notion of a transient error: an S3 response other than "not found" (the AWS SDK puts
 * `$metadata` on every service error), a refused, reset or timed-out connection, a DNS failure
 * that may pass, or a timeout.
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof NotFoundError) return false;
  const err = e as { $metadata?: unknown; code?: string; name?: string } | null | undefined;
  return (
    err?.$metadata !== undefined ||
    TRANSIENT_CODES.includes(err?.code ?? '') ||
    err?.name === 'TimeoutError'
  );
}

export function failureKind(e: unknown): FailureKind {
  if (isTransient(e)) return 'transient';
  return (e as { name?: string } | null | undefined)?.name === 'SpecError'
    ? 'SpecError'
    : 'InputError';
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Bad input that no retry can fix, raised by library code (the activities fail at once). */
export class InputError extends Error {
  override name = 'InputError';
}

/**
 * Runs one step of reading or checking an input; a failure that is not transient becomes an
 * InputError naming `what` (an InputError from a nested step is kept as it is).
 */
export async function inputStep<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InputError || isTransient(e)) throw e;
    throw new InputError(`${what}: ${errorMessage(e)}`);
  }
}
