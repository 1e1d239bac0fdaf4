/**
 * Wall and CPU seconds of a stage's phases, split by marks: each mark charges the time since the
 * previous one to a phase, so the phases sum to the stage's time and overlapped work shows as the
 * wait it left (e.g. "upload" is the time spent waiting for it, not its duration). CPU seconds are
 * the process's (process.cpuUsage: every thread, the backend's kernels included), so they are one
 * stage's when the process runs one at a time, and they stay meaningful on a machine whose other
 * work stretches the wall seconds. Cheap: a clock read and a getrusage per mark. Benchmarks sum
 * them over activities (bench/runStats.ts).
 */
/** What a step marks its phases with. */
export interface PhaseMarks {
  mark(phase: string): void;
  wait<T>(phase: string, p: Promise<T> | T): Promise<T>;
}

export class PhaseTimes implements PhaseMarks {
  readonly seconds: Record<string, number> = {};
  readonly cpuSeconds: Record<string, number> = {};
  private last = performance.now();
  private lastCpu = process.cpuUsage();

  /** Charges the time since the previous mark (or construction) to `phase`. */
  mark(phase: string): void {
    const now = performance.now();
    const cpu = process.cpuUsage();
    this.seconds[phase] = (this.seconds[phase] ?? 0) + (now - this.last) / 1000;
    const used = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1e6;
    this.cpuSeconds[phase] = (this.cpuSeconds[phase] ?? 0) + used;
    this.last = now;
    this.lastCpu = cpu;
  }

  /** Awaits `p` and charges the time since the previous mark to `phase`. */
  async wait<T>(phase: string, p: Promise<T> | T): Promise<T> {
    const v = await p;
    this.mark(phase);
    return v;
  }

  /** Marks charged here as `prefix` + phase: a step run inside another's activity. */
  prefixed(prefix: string): PhaseMarks {
    return {
      mark: (phase) => this.mark(prefix + phase),
      wait: (phase, p) => this.wait(prefix + phase, p),
    };
  }

  /** Wall and CPU seconds per phase, to the millisecond (what an activity result carries). */
  toJSON(): { phases: Record<string, number>; phasesCpu: Record<string, number> } {
    const ms = (r: Record<string, number>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    return { phases: ms(this.seconds), phasesCpu: ms(this.cpuSeconds) };
  }
}
