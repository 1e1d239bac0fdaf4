import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { readAllParts } from '../data/partitionedDataset';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { concatBlocks } from '../grad/blockMath';
import type { FeaturizeSpec } from '../grad/types';
import type { ScoreMatrix } from '../methods/blockProduct';
import { type Clustering, tracInClusters } from '../methods/clustering';
import { gradientVectors } from '../methods/factoredFeatures';
import { type MethodName, methods, scoreMethod } from '../methods/index';
import { conjugateGradient } from '../methods/influence/conjugateGradient';
import { ekfacInfluence } from '../methods/influence/ekfac';
import { meanLossHvp } from '../methods/influence/hvp';
import { influenceSelfWith } from '../methods/influence/influenceSelf';
import { lissa } from '../methods/influence/lissa';
import { selectLayers } from '../methods/selectLayers';
import { selfInfluence } from '../methods/selfInfluence';
import { checkpointPrefix, readCheckpointManifest } from '../model/checkpoints';
import { loadModel } from '../model/storeIO';
import { TopKAccumulator, type TopKPartial } from '../reduce/topK';
import type { ObjectStore } from '../store/objectStore';
import { zodIssues } from '../zodIssues';
import { datasetFactorBatches, fitDatasetEkfac } from './datasetFactors';
import { featurizeDataset, inputTensor } from './featurizeDataset';
import { type SelfScoreInput, selfScoreSchema } from './runSpec';

/**
 * Methods the in-memory runner adds to the registry's: exact influence by either solver (the
 * registry's influenceExact takes the solver as an option), EK-FAC over unprojected factors, and
 * TracIn clustering.
 */
const IN_MEMORY_ONLY = ['influenceCG', 'influenceLiSSA', 'influenceEkfac', 'clusters'] as const;
type RegistryMethod = Exclude<MethodName, 'influenceExact'>;
export type InMemoryMethod = RegistryMethod | (typeof IN_MEMORY_ONLY)[number];
/** Every method the in-memory runner knows; the distributed pipeline runs PIPELINE_METHODS. */
export const IN_MEMORY_METHODS: readonly InMemoryMethod[] = [
  ...(Object.keys(methods) as MethodName[]).filter(
    (m): m is RegistryMethod => m !== 'influenceExact',
  ),
  ...IN_MEMORY_ONLY,
];

export interface InMemoryJob {
  checkpoints: string;
  train: string;
  query: string;
  method: InMemoryMethod;
  /** Default: exact flattened gradients (projector none), which exact influence needs. */
  featurize?: FeaturizeSpec;
  topK?: number;
  /** Absolute damping λ of (H + λI): influenceCG and influenceLiSSA (default 0.01), influenceProjected. */
  damping?: number;
  /** influenceEkfac's damping: λ per layer as a multiple of its mean eigenvalue (default 0.1). */
  relativeDamping?: number;
  /** The per-example self-score (RunSpec.selfScore; default TracIn-CP's). */
  selfScore?: SelfScoreInput;
  /** Clusters for 'clusters' (default 8). */
  k?: number;
  seed?: number;
}

export interface InMemoryResult {
  method: InMemoryMethod;
  scores?: ScoreMatrix;
  topk?: TopKPartial;
  selfInfluence: Float64Array;
  clusters?: Clustering;
  seconds: number;
}

/**
 * Any method on small data, in one process, no Temporal: every example's features are held in
 * memory. For exact curvature (influenceCG / influenceLiSSA) the gradients must be the full
 * flattened ones (projector none) so they share the Hessian-vector product's parameter layout.
 */
export async function scoreInMemory(store: ObjectStore, job: InMemoryJob): Promise<InMemoryResult> {
  const t0 = performance.now();
  const manifest = await readCheckpointManifest(store, job.checkpoints);
  const checkpoints: CheckpointInfo[] = manifest.checkpoints.map((c) => ({
    step: c.step,
    learningRate: c.learningRate,
  }));
  const models: tfl.LayersModel[] = [];
  for (const c of manifest.checkpoints) {
    models.push(await loadModel(store, checkpointPrefix(job.checkpoints, c)));
  }
  const train = await readAllParts(store, job.train);
  const query = await readAllParts(store, job.query);
  const spec: FeaturizeSpec = job.featurize ?? { projector: { kind: 'none' } };
  const exact = job.method === 'influenceCG' || job.method === 'influenceLiSSA';
  if (exact && spec.projector.kind !== 'none') {
    throw new Error(`${job.method} needs exact gradients: use projector {kind: none}`);
  }
  const featurizeAll = (m: tfl.LayersModel) => ({
    train: featurizeDataset(m, train, 0, train.rows, spec),
    query: featurizeDataset(m, query, 0, query.rows, spec),
  });
  // Final-model methods need only the last checkpoint; TracIn, clustering and the influence
  // self-score need all of them.
  const parsed = selfScoreSchema.safeParse(job.selfScore ?? { kind: 'tracin' });
  if (!parsed.success) throw new Error(`bad self-score:\n${zodIssues(parsed.error)}`);
  const selfScore = parsed.data;
  const all =
    job.method === 'tracin' || job.method === 'clusters' || selfScore.kind === 'influence';
  const feats = (all ? models : models.slice(-1)).map(featurizeAll);
  const trainF: ExampleFeatures[] = feats.map((f) => f.train);
  const queryF: ExampleFeatures[] = feats.map((f) => f.query);
  const cks = all ? checkpoints : [{ ...checkpoints[checkpoints.length - 1], learningRate: 1 }];
  const self =
    selfScore.kind === 'influence'
      ? influenceSelfWith(
          trainF.map((f) => selectLayers(f, selfScore.layers)),
          cks,
          selfScore,
        )
      : selfInfluence(trainF, cks, 'exact');
  const result = (
    r: Omit<InMemoryResult, 'method' | 'selfInfluence' | 'seconds'>,
  ): InMemoryResult => {
    for (const m of models) m.dispose();
    return {
      method: job.method,
      selfInfluence: self,
      seconds: (performance.now() - t0) / 1000,
      ...r,
    };
  };

  if (job.method === 'clusters') {
    return result({ clusters: tracInClusters(trainF, cks, job.k ?? 8, { seed: job.seed ?? 0 }) });
  }
  let scores: ScoreMatrix;
  const input = { train: trainF, query: queryF, checkpoints: cks };
  switch (job.method) {
    case 'influenceCG':
    case 'influenceLiSSA': {
      const model = models[models.length - 1];
      const x = inputTensor(model, train, 0, train.rows);
      try {
        const { hvp, dim } = meanLossHvp(model, x, train.labels);
        const gradDim = gradientVectors(trainF[trainF.length - 1].grads).dim;
        if (dim !== gradDim) {
          throw new Error(
            `exact influence: the Hessian covers ${dim} parameters but the gradients ${gradDim}; ` +
              'it supports Dense layers only',
          );
        }
        const damping = job.damping ?? 0.01;
        const solve = (q: Float64Array) =>
          job.method === 'influenceCG'
            ? conjugateGradient(hvp, q, { damping, maxIterations: 200, tolerance: 1e-8 }).x
            : lissa(hvp, q, { damping, depth: 500, tolerance: 1e-8 }).x;
        scores = scoreMethod('influenceExact', { ...input, options: { solve } });
      } finally {
        x.dispose();
      }
      break;
    }
    case 'influenceEkfac': {
      // The curvature is the true Fisher (labels sampled from the model); scores use the
      // observed labels (queries: the test function).
      const model = models[models.length - 1];
      const ekfac = fitDatasetEkfac(
        model,
        train,
        spec,
        { relativeDamping: job.relativeDamping ?? 0.1 },
        job.seed ?? 0,
      );
      const blocks = (ds: Dataset, test?: FeaturizeSpec['testFunction']) =>
        concatBlocks([...datasetFactorBatches(model, ds, { ...spec, testFunction: test })]);
      scores = ekfacInfluence(ekfac, blocks(query, spec.testFunction), blocks(train));
      break;
    }
    case 'influenceProjected':
      scores = scoreMethod('influenceProjected', {
        ...input,
        options: job.damping ? { curvatureOptions: { damping: job.damping } } : undefined,
      });
      break;
    default:
      scores = scoreMethod(job.method, input);
  }
  const topk = new TopKAccumulator(scores.queries, job.topK ?? 10);
  topk.addScores(scores, 0);
  return result({ scores, topk: topk.toJSON() });
}
