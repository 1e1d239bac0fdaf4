import { type BackendName, initBackend } from '../../lib/tf/backend';
import { nativeAddonBuilt } from '../../lib/tf/native';

/**
 * The backend the gradient-engine, method and pipeline tests run their model code on:
 * TDA_BACKEND, default cpu. infra/test.sh runs those tests again with TDA_BACKEND=wasm and
 * TDA_BACKEND=tensorflow; asking for a backend that does not load fails instead of falling back.
 */
export async function useTestBackend(): Promise<string> {
  const want = (process.env.TDA_BACKEND || 'cpu') as BackendName;
  const got = await initBackend(want, () => {});
  if (want !== 'auto' && got.replace('-gpu', '') !== want) {
    throw new Error(`TDA_BACKEND=${want}, but ${got} loaded`);
  }
  return got;
}

/** Backends a cross-backend test compares: cpu, wasm and, where setup built it, tensorflow. */
export const COMPARED_BACKENDS: ('cpu' | 'wasm' | 'tensorflow')[] = [
  'cpu',
  'wasm',
  ...(nativeAddonBuilt('@tensorflow/tfjs-node') ? (['tensorflow'] as const) : []),
];
