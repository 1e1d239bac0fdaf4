/**
 * Wall seconds of a stage's phases, split by marks: each mark charges the time since the previous
 * one to a phase, so the phases sum to the stage's time and overlapped work shows as the wait it
 * left (e.g. "upload" is the time spent waiting for it, not its duration). Cheap: one clock read
 * per mark. Benchmarks sum them over activities (bench/runStats.ts).
 */
export class PhaseTimes {
  readonly seconds: Record<string, number> = {};
  private last = performance.now();

  /** Charges the time since the previous mark (or construction) to `phase`. */
  mark(phase: string): void {
    const now = performance.now();
    this.seconds[phase] = (this.seconds[phase] ?? 0) + (now - this.last) / 1000;
    this.last = now;
  }

  /** Awaits `p` and charges the time since the previous mark to `phase`. */
  async wait<T>(phase: string, p: Promise<T> | T): Promise<T> {
    const v = await p;
    this.mark(phase);
    return v;
  }

  /** The phases rounded to milliseconds (what an activity result carries). */
  toJSON(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.seconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000]),
    );
  }
}
