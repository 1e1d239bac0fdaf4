/**
 * The one sliding window of the workflows: runs `task(i)` for i in [start, end) with at most
 * `limit` in flight, in order. One failure rule for every fan-out: the first task to fail frees
 * its slot, nothing more is started, and the call rejects with that task's error at once (the
 * tasks still in flight are abandoned; failing the workflow cancels them), so a bad shard ends
 * the run promptly instead of after every other range or never.
 *
 * `stopStarting` is asked before each start: when it says true (Temporal suggests continuing as
 * new, a per-run budget is spent) no more tasks start, the ones in flight are awaited, and the
 * call resolves to the first index not started, from which the caller continues as new.
 *
 * Plain promises only (no timers, no I/O): deterministic inside the workflow sandbox, and tested
 * on its own in test/unit/workflows/boundedForEach.test.ts.
 */
export async function boundedForEach(
  start: number,
  end: number,
  limit: number,
  task: (i: number) => Promise<unknown>,
  stopStarting: () => boolean = () => false,
): Promise<number> {
  if (!(Number.isInteger(limit) && limit >= 1)) {
    throw new Error(`in-flight limit must be a positive integer, got ${limit}`);
  }
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let next = start;
  const stop = () => {
    if (failure) throw failure.error;
  };
  while (next < end && !stopStarting()) {
    const p: Promise<void> = task(next++).then(
      () => {
        running.delete(p);
      },
      (e) => {
        // Noted at once: when several tasks settle together (one workflow activation), this
        // runs before the loop below resumes, so no new task starts after a failure.
        failure ??= { error: e };
        throw e;
      },
    );
    // Awaited below through race/all; this only keeps a rejection no one awaits any more (after
    // an earlier failure) from being reported as unhandled.
    p.catch(() => {});
    running.add(p);
    // A full window waits for a slot; a failure anywhere rejects this at once.
    while (running.size >= limit) {
      await Promise.race(running).catch(() => {});
      stop();
    }
    stop();
  }
  while (running.size > 0) {
    await Promise.race(running).catch(() => {});
    stop();
  }
  return next;
}
