import { sha256 } from '../store/commit';
import type { RunSpec } from './runSpec';

/**
 * Content addresses. Bump FEATURE_CODE_VERSION whenever the gradient engine's output for the same
 * inputs changes, so stale features are never reused.
 */
export const FEATURE_CODE_VERSION = 'grad-3';
/** Likewise for what the score and reduce stages compute from features. */
export const SCORE_CODE_VERSION = 'score-2';

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

export function featureSpecHash(spec: Pick<RunSpec, 'projector' | 'layers' | 'testFunction'>) {
  return sha256(
    canonical({
      projector: spec.projector,
      layers: spec.layers,
      testFunction: spec.testFunction,
      code: FEATURE_CODE_VERSION,
    }),
  ).slice(0, 24);
}

/** Where one (checkpoint, shard)'s features live: shared by every run that needs them. */
export function featureKey(checkpointHash: string, specHash: string, shardHash: string): string {
  return `features/${checkpointHash.slice(0, 24)}/${specHash}/${shardHash}`;
}

export function runPrefixFor(
  spec: RunSpec,
  checkpointHashes: string[],
  train: { parts: { sha256: string; rows: number }[] },
  query: { parts: { sha256: string; rows: number }[] },
  specHash: string,
): string {
  const h = sha256(
    canonical({
      method: spec.method,
      topK: spec.topK,
      shardSize: spec.shardSize,
      queryBlock: spec.queryBlock,
      checkpoints: checkpointHashes,
      train: train.parts,
      query: query.parts,
      features: specHash,
      code: SCORE_CODE_VERSION,
    }),
  ).slice(0, 16);
  return `runs/${spec.name}/${h}`;
}
