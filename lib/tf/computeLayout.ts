/**
 * How a host's cores are split into compute worker processes, activity slots per process and
 * TensorFlow threads per process. wasm and cpu compute on one thread per process, so one process
 * per core, one activity each. Native TensorFlow runs every op on a pool of all cores itself, so
 * more processes would only oversubscribe them: one process (per 16 cores: past that one Node
 * thread feeding ops becomes the limit), its cores as TensorFlow's intra-op threads, and two
 * activity slots so one activity's S3 reads and writes overlap another's compute.
 */
export interface ComputeLayout {
  processes: number;
  /** Activity slots per process. */
  slots: number;
  /** TensorFlow intra-op threads per process (TF_NUM_INTRAOP_THREADS); undefined: not native. */
  threads?: number;
  why: string;
}

export const CORES_PER_NATIVE_PROCESS = 16;

/** The layout for a host; `processes` overrides the process count (the cores are split anyway). */
export function computeLayout(native: boolean, cores: number, processes?: number): ComputeLayout {
  const n = Math.max(1, Math.floor(cores));
  if (!native) {
    const p = processes ?? n;
    return { processes: p, slots: 1, why: `${p} single-threaded (wasm/cpu) processes` };
  }
  processes ??= Math.ceil(n / CORES_PER_NATIVE_PROCESS);
  const threads = Math.max(1, Math.floor(n / processes));
  return {
    processes,
    slots: 2,
    threads,
    why: `native TensorFlow: ${processes} process${processes > 1 ? 'es' : ''} of ${threads} threads, 2 activity slots each`,
  };
}

/** The environment of a compute worker process under a layout (TensorFlow's thread count). */
export function layoutEnv(layout: ComputeLayout, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (layout.threads === undefined || env.TF_NUM_INTRAOP_THREADS) return env;
  return { ...env, TF_NUM_INTRAOP_THREADS: String(layout.threads) };
}
