import type { CheckpointInfo, ExampleFeatures } from '../features';
import { type Ekfac, ekfacSelfScores } from '../methods/influence/ekfac';
import type { InfluenceSelfSettings } from '../methods/influence/influenceSelf';
import {
  factorKfac,
  type KfacPartial,
  kfacPartial,
  mergeKfacPartials,
  storedFactorBlocks,
} from '../methods/influence/kfac';
import { type KroneckerSketch, sketchFeatures } from '../methods/influence/kroneckerSketch';
import {
  type CurvatureOptions,
  factorCurvature,
  type GramPartial,
  mergeGramPartials,
  type ProjectedCurvature,
} from '../methods/influence/projectedCurvature';
import { checkCheckpoints } from '../methods/validate';
import { type Packed, packArrays, unpackArrays } from './packedArrays';
import { tensorGramPartial, tensorInfluenceSelf } from './tensorCurvature';

/**
 * How one kind of curvature behind the influence self-score is accumulated from parts (a
 * shard's partial sums, plain data), summed, factored once, applied to a part's rows, and
 * shipped between reduce steps (as packed float64 arrays: every value exactly as computed).
 */
export interface CurvatureKind<P, C> {
  /** `onChunk`: called between a long computation's pieces (to heartbeat). */
  partial: (f: ExampleFeatures, onChunk?: () => void) => Promise<P>;
  merge: (a: P, b: P) => P;
  factor: (p: P, options?: CurvatureOptions) => C;
  scores: (f: ExampleFeatures, c: C, onChunk?: () => void) => Promise<Float64Array>;
  packPartial: (p: P) => Packed<unknown>;
  unpackPartial: (x: Packed<unknown>) => P;
  packFactored: (c: C) => Packed<unknown>;
  unpackFactored: (x: Packed<unknown>) => C;
}

const gram: CurvatureKind<GramPartial, ProjectedCurvature> = {
  partial: (f, onChunk) => tensorGramPartial(f.grads, onChunk),
  merge: mergeGramPartials,
  factor: factorCurvature,
  scores: tensorInfluenceSelf,
  packPartial: (p) => ({ header: { dim: p.dim, count: p.count }, arrays: [p.gram] }),
  unpackPartial: ({ header, arrays }) => {
    const h = header as { dim: number; count: number };
    return { dim: h.dim, count: h.count, gram: arrays[0] };
  },
  packFactored: (c) => ({ header: { dim: c.dim, damping: c.damping }, arrays: [c.factor] }),
  unpackFactored: ({ header, arrays }) => {
    const h = header as { dim: number; damping: number };
    return { dim: h.dim, damping: h.damping, factor: arrays[0] };
  },
};

interface LayerShape {
  name: string;
  inDim: number;
  outDim: number;
}
const shape = (l: LayerShape): LayerShape => ({ name: l.name, inDim: l.inDim, outDim: l.outDim });

const what = 'influence self-score (K-FAC)';
const kfac: CurvatureKind<KfacPartial, Ekfac> = {
  partial: async (f) => kfacPartial(storedFactorBlocks(f, what)),
  merge: mergeKfacPartials,
  factor: (p, o) => factorKfac(p, { relativeDamping: o?.relativeDamping }),
  scores: async (f, c) => ekfacSelfScores(c, storedFactorBlocks(f, what)),
  packPartial: (p) => ({
    header: { examples: p.examples, layers: p.layers.map(shape) },
    arrays: p.layers.flatMap((l) => [l.a, l.s]),
  }),
  unpackPartial: ({ header, arrays }) => {
    const h = header as { examples: number; layers: LayerShape[] };
    return {
      examples: h.examples,
      layers: h.layers.map((l, k) => ({ ...l, a: arrays[2 * k], s: arrays[2 * k + 1] })),
    };
  },
  packFactored: (c) => ({
    header: { examples: c.examples, layers: c.layers.map((l) => ({ ...shape(l), d: l.damping })) },
    arrays: c.layers.flatMap((l) => [Float64Array.from(l.qA), Float64Array.from(l.qS), l.lambda]),
  }),
  unpackFactored: ({ header, arrays }) => {
    const h = header as { examples: number; layers: (LayerShape & { d: number })[] };
    return {
      examples: h.examples,
      layers: h.layers.map(({ d, ...l }, k) => ({
        ...l,
        qA: Float32Array.from(arrays[3 * k]),
        qS: Float32Array.from(arrays[3 * k + 1]),
        lambda: arrays[3 * k + 2],
        damping: d,
      })),
    };
  },
};

export const CURVATURE_KINDS = { gram, kfac } as const;
export type CurvatureKindName = keyof typeof CURVATURE_KINDS;

// biome-ignore lint/suspicious/noExplicitAny: the registry's kinds differ in P and C; callers keep them apart by name
export type AnyCurvatureKind = CurvatureKind<any, any>;

/** A kind that reads every part's features through a Kronecker sketch of their factors. */
function sketched<P, C>(kind: CurvatureKind<P, C>, sketch: KroneckerSketch): CurvatureKind<P, C> {
  return {
    ...kind,
    partial: (f, onChunk) => kind.partial(sketchFeatures(f, sketch), onChunk),
    scores: (f, c, onChunk) => kind.scores(sketchFeatures(f, sketch), c, onChunk),
  };
}

/**
 * The curvature kind of an influence self-score spec without its sketch: what reads features
 * already sketched (a run's stored self-score features, curvatureReduce.ts).
 */
export function unsketchedKind(self: Pick<InfluenceSelfSettings, 'curvature'>): AnyCurvatureKind {
  return CURVATURE_KINDS[self.curvature ?? 'gram'];
}

/** The curvature kind of an influence self-score spec (a run's, an audit's). */
export function curvatureKind(
  self: Pick<InfluenceSelfSettings, 'curvature' | 'sketch'>,
): AnyCurvatureKind {
  const kind = unsketchedKind(self);
  return self.sketch ? sketched(kind, self.sketch) : kind;
}

/** One value per checkpoint (a shard's partials, a sum of them, or the factored curvatures). */
function encodeEach<T>(items: T[], pack: (x: T) => Packed<unknown>): Uint8Array {
  const packed = items.map(pack);
  return packArrays({
    header: { checkpoints: packed.map((p) => ({ header: p.header, arrays: p.arrays.length })) },
    arrays: packed.flatMap((p) => p.arrays),
  });
}

function decodeEach<T>(bytes: Uint8Array, what: string, unpack: (x: Packed<unknown>) => T): T[] {
  const { header, arrays } = unpackArrays<{ checkpoints: { header: unknown; arrays: number }[] }>(
    bytes,
    what,
  );
  let o = 0;
  return header.checkpoints.map((c) => {
    const x = unpack({ header: c.header, arrays: arrays.slice(o, o + c.arrays) });
    o += c.arrays;
    return x;
  });
}

export const encodePartials = <P, C>(kind: CurvatureKind<P, C>, ps: P[]) =>
  encodeEach(ps, kind.packPartial);
export const decodePartials = <P, C>(kind: CurvatureKind<P, C>, b: Uint8Array, what: string) =>
  decodeEach(b, what, kind.unpackPartial);
export const encodeFactored = <P, C>(kind: CurvatureKind<P, C>, cs: C[]) =>
  encodeEach(cs, kind.packFactored);
export const decodeFactored = <P, C>(kind: CurvatureKind<P, C>, b: Uint8Array, what: string) =>
  decodeEach(b, what, kind.unpackFactored);

/**
 * One part's influence self-scores Σ_c η_c g_iᵀ(F_c + λ_c I)⁻¹g_i from its features and factored
 * curvature at each checkpoint, added in checkpoint order into zeros (the same float sums for
 * the in-memory passes, a run's shard step and an audit's part step). `onProgress`: between
 * the products' pieces and after each checkpoint (to heartbeat).
 */
export async function selfScoresOverCheckpoints<P, C>(
  kind: CurvatureKind<P, C>,
  feats: ExampleFeatures[],
  curvatures: C[],
  checkpoints: CheckpointInfo[],
  onProgress: () => void = () => {},
): Promise<Float64Array> {
  checkCheckpoints(feats, null, checkpoints, 'influenceSelf');
  const scores = new Float64Array(feats[0].grads.rows);
  for (let c = 0; c < checkpoints.length; c++) {
    const s = await kind.scores(feats[c], curvatures[c], onProgress);
    for (let i = 0; i < s.length; i++) scores[i] += checkpoints[c].learningRate * s[i];
    onProgress();
  }
  return scores;
}
