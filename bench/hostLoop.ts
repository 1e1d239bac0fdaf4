/**
 * How fast this host's CPU is right now: the milliseconds one fixed float64 loop takes on this
 * thread (the median of three). The development machines are shared VMs whose speed drifts by
 * half within an hour (a loop like this one took 65% longer forty minutes later on 2026-12-01,
 * with nothing else of ours running), so a benchmark prints it beside its times, and figures
 * from two runs compare only where their loops agree.
 */
export function hostLoopMs(): number {
  const a = new Float64Array(1 << 20);
  const times: number[] = [];
  let sink = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    for (let r = 0; r < 100; r++) {
      for (let i = 0; i < a.length; i++) {
        a[i] = a[i] * 0.5 + i;
        sink += a[i];
      }
    }
    times.push(performance.now() - t0);
  }
  // The sum is used, so the loop cannot be dropped.
  if (!Number.isFinite(sink)) throw new Error('host loop: non-finite sum');
  return Number(times.sort((x, y) => x - y)[1].toFixed(0));
}
