import type { CheckpointInfo, ExampleFeatures } from '../features';
import type { KroneckerSketch } from '../methods/influence/kroneckerSketch';
import type { CurvatureOptions } from '../methods/influence/projectedCurvature';
import { type CurvatureKind, curvatureKind, selfScoresOverCheckpoints } from './curvatureKinds';

export interface InfluenceSelfPassesInput {
  /** How many parts the training set is stored in (shards, or shards of several batches). */
  parts: number;
  checkpoints: CheckpointInfo[];
  /** One part's features at one checkpoint (read twice: once per pass). */
  read: (part: number, checkpoint: number) => Promise<ExampleFeatures>;
  curvature?: CurvatureOptions;
  /** 'gram' (default): the stored vectors' Gram; 'kfac': Kronecker factors from stored factors. */
  curvatureKind?: 'gram' | 'kfac';
  /** Sketch the stored factors first (runSpec's selfScore.sketch). */
  sketch?: KroneckerSketch;
  onPart?: (pass: 'curvature' | 'score', part: number) => void;
  /**
   * Between the products' chunks of rows, and after each checkpoint's curvature partial and
   * scores (to heartbeat).
   */
  onProgress?: () => void;
}

/**
 * The influence self-score Σ_c η_c g_i(θ_c)ᵀ (F_c + λ_c I)⁻¹ g_i(θ_c) (influenceSelfOverCheckpoints)
 * over a training set stored in parts, in two streaming passes so memory is two parts (one read
 * ahead) plus k² per checkpoint, never the data set: the first sums each checkpoint's Gram matrix
 * over every part and factors F_c + λ_c I; the second scores each part. Returns the scores part by
 * part.
 */
export function influenceSelfPasses(input: InfluenceSelfPassesInput): Promise<Float64Array[]> {
  return passes(input, curvatureKind({ curvature: input.curvatureKind, sketch: input.sketch }));
}

async function passes<P, Cv>(
  input: InfluenceSelfPassesInput,
  kind: CurvatureKind<P, Cv>,
): Promise<Float64Array[]> {
  const { parts, checkpoints, read } = input;
  if (checkpoints.length === 0) throw new Error('influenceSelf: no checkpoints');
  const C = checkpoints.length;
  // Reads run one part ahead of the products, so fetching and decoding overlap the arithmetic.
  const readAll = (p: number) => {
    const r = Promise.all(checkpoints.map((_, c) => read(p, c)));
    // Its failure surfaces where it is awaited; until then it must not count as unhandled.
    r.catch(() => {});
    return r;
  };
  const partials: (P | null)[] = checkpoints.map(() => null);
  let next = parts > 0 ? readAll(0) : null;
  for (let p = 0; p < parts; p++) {
    const feats = await (next as Promise<ExampleFeatures[]>);
    next = p + 1 < parts ? readAll(p + 1) : readAll(0);
    for (let c = 0; c < C; c++) {
      const g = await kind.partial(feats[c], input.onProgress);
      const prev = partials[c];
      partials[c] = prev ? kind.merge(prev, g) : g;
      input.onProgress?.();
    }
    input.onPart?.('curvature', p);
  }
  const curvatures = partials.map((g, c) => {
    if (!g) throw new Error(`influenceSelf: no training rows at checkpoint ${c}`);
    return kind.factor(g, input.curvature);
  });
  const out: Float64Array[] = [];
  for (let p = 0; p < parts; p++) {
    const feats = await (next as Promise<ExampleFeatures[]>);
    next = p + 1 < parts ? readAll(p + 1) : null;
    out.push(
      await selfScoresOverCheckpoints(kind, feats, curvatures, checkpoints, input.onProgress),
    );
    input.onPart?.('score', p);
  }
  return out;
}
