/**
 * How a host's cores are split into compute worker processes, activity slots per process and
 * TensorFlow threads per process. wasm and cpu compute on one thread per process, so one process
 * per core, one activity each. So does native TensorFlow on the CPU, with one intra-op thread per
 * process: a process's JavaScript (reading and encoding features, the score step's sums and
 * top-k) runs on its one Node thread, and with one process of two threads on two cores that
 * thread was the limit: bench:scale at 100k took 33.3-34.0 s against 21.3-21.8 with a process
 * per core, alternated in one session (BENCHMARKS.md). On a GPU (the CUDA build with a device
 * visible) the ops run on the device: one process (per 16 cores: past that one Node thread
 * feeding ops becomes the limit) with two activity slots, so one activity's S3 reads and writes
 * overlap another's compute. Native processes also get glibc malloc settings that keep their
 * resident memory from growing with the run (NATIVE_MALLOC).
 */
export interface ComputeLayout {
  processes: number;
  /** Activity slots per process. */
  slots: number;
  /** TensorFlow intra-op threads per process (TF_NUM_INTRAOP_THREADS); undefined: not native. */
  threads?: number;
  why: string;
}

export const CORES_PER_GPU_PROCESS = 16;

/**
 * The layout for a host; `native` is false (wasm/cpu), true (native TensorFlow on the CPU) or
 * 'gpu' (native TensorFlow on a GPU: lib/tf/native.ts nativeCompute). `processes` overrides the
 * process count (the cores are split anyway), `slots` the activity slots per process (benchmarks
 * compare layouts with these).
 */
export function computeLayout(
  native: boolean | 'gpu',
  cores: number,
  processes?: number,
  slots?: number,
): ComputeLayout {
  const n = Math.max(1, Math.floor(cores));
  if (!native) {
    const p = processes ?? n;
    const s = slots ?? 1;
    return {
      processes: p,
      slots: s,
      why: `${p} single-threaded (wasm/cpu) processes${s > 1 ? `, ${s} activity slots each` : ''}`,
    };
  }
  const gpu = native === 'gpu';
  processes ??= gpu ? Math.ceil(n / CORES_PER_GPU_PROCESS) : n;
  slots ??= gpu ? 2 : 1;
  const threads = Math.max(1, Math.floor(n / processes));
  return {
    processes,
    slots,
    threads,
    why: `native TensorFlow${gpu ? ' on a GPU' : ''}: ${processes} process${processes > 1 ? 'es' : ''} of ${threads} thread${threads > 1 ? 's' : ''}, ${slots} activity slot${slots > 1 ? 's' : ''} each`,
  };
}

/**
 * The environment of a compute worker process under a layout: TensorFlow's thread count and,
 * unless `malloc` is false, NATIVE_MALLOC.
 */
export function layoutEnv(
  layout: ComputeLayout,
  env: NodeJS.ProcessEnv,
  opts: { malloc?: boolean } = {},
): NodeJS.ProcessEnv {
  if (layout.threads === undefined) return env;
  const malloc = opts.malloc === false ? {} : NATIVE_MALLOC;
  const out: NodeJS.ProcessEnv = {
    ...env,
    ...malloc,
    TF_NUM_INTRAOP_THREADS: String(layout.threads),
  };
  // A user's own settings win.
  for (const k of Object.keys(malloc).concat('TF_NUM_INTRAOP_THREADS')) {
    if (env[k]) out[k] = env[k];
  }
  return out;
}

/**
 * glibc malloc settings for a native TensorFlow process (read once when it starts, so they go in
 * its environment). TensorFlow allocates op outputs from its pool threads, each with a glibc
 * arena of its own (up to 8 per core); and once a large block has been freed, glibc serves blocks
 * up to that size (to 32 MiB) from the arenas, where freed ones stay resident as holes. Two arenas
 * and a fixed 4 MiB mmap threshold (larger blocks, such as a shard's decoded input or the
 * self-score's products, go back to the kernel when freed): bench:scale at 100k, side by side
 * under the same load, peaked at 915 MiB against 961 with glibc's defaults. A 1 MiB threshold
 * kept less still but made the 10 MB score products 3.5 times slower (each page-faulted afresh);
 * tcmalloc kept more, not less (BENCHMARKS.md, bench:scale's RSS paragraph).
 */
export const NATIVE_MALLOC: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(4 * 2 ** 20),
};
