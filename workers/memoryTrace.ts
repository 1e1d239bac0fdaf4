/**
 * What a worker process's resident memory is made of, sampled while it runs: the kernel's count
 * (VmRSS, split into anonymous pages and file pages: TensorFlow's shared library alone maps about
 * 400 MiB of touched code and data), V8's heap, memory outside it held by JS objects (external,
 * of which ArrayBuffers), the backend's live tensors, and which activities were running. The
 * sample at the peak goes into the worker's report; every sample goes to a JSON-lines file when
 * TDA_MEMORY_TRACE names one (`<file>.<pid>`), to see whether memory grows with the run.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

export interface MemorySample {
  /** Seconds since the trace started. */
  t: number;
  /** MiB throughout. */
  rss: number;
  anon: number;
  file: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Bytes in the backend's live tensors (tf.memory()), MiB; 0 where no backend is loaded. */
  tensors: number;
  /** The activities running at the sample, by type (e.g. { featurizeShard: 2 }). */
  running: Record<string, number>;
}

const MiB = 2 ** 20;

/** VmRSS, RssAnon and RssFile of /proc/<pid>/status in MiB; undefined off Linux. */
export function procRss(
  pid: number | 'self' = 'self',
): { rss: number; anon: number; file: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

export interface MemoryTrace {
  /** Counts an activity in `running` while `fn` runs. */
  during<T>(type: string, fn: () => Promise<T>): Promise<T>;
  /** The sample with the highest RSS so far (one taken now included). */
  peak(): MemorySample;
  stop(): void;
}

export function startMemoryTrace(
  opts: { file?: string; intervalMs?: number; tensors?: boolean } = {},
): MemoryTrace {
  const t0 = performance.now();
  const running: Record<string, number> = {};
  const file = opts.file ? `${opts.file}.${process.pid}` : undefined;
  let peak: MemorySample | undefined;
  const sample = (): MemorySample => {
    const m = process.memoryUsage();
    const p = procRss() ?? { rss: m.rss / MiB, anon: 0, file: 0 };
    const s: MemorySample = {
      t: Number(((performance.now() - t0) / 1000).toFixed(2)),
      rss: p.rss,
      anon: p.anon,
      file: p.file,
      heapUsed: Number((m.heapUsed / MiB).toFixed(1)),
      external: Number((m.external / MiB).toFixed(1)),
      arrayBuffers: Number((m.arrayBuffers / MiB).toFixed(1)),
      tensors: opts.tensors ? Number((tf.memory().numBytes / MiB).toFixed(1)) : 0,
      running: { ...running },
    };
    if (!peak || s.rss > peak.rss) peak = s;
    if (file) appendFileSync(file, `${JSON.stringify(s)}\n`);
    return s;
  };
  const timer = setInterval(sample, opts.intervalMs ?? 500);
  timer.unref();
  return {
    async during(type, fn) {
      running[type] = (running[type] ?? 0) + 1;
      try {
        return await fn();
      } finally {
        running[type]--;
        if (running[type] === 0) delete running[type];
      }
    },
    peak() {
      sample();
      return peak as MemorySample;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** The activities with each call counted in the trace's `running` under its name. */
export function tracedActivities<A extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: A,
  trace: MemoryTrace,
): A {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      (...args: never[]) => trace.during(name, () => fn(...args)),
    ]),
  ) as A;
}
