/**
 * The mislabel benchmark's rankings by name: each a per-example self-score, positive = more
 * suspect. Adding a ranking is one entry. An entry either sums over the benchmark's TracIn
 * checkpoints (it is handed each checkpoint's features in turn, so no two checkpoints' features
 * are held at once) or scores at the final weights θ_f (with θ_f's features when it asks for
 * them). Names follow lib/methods' registry (`tracin`, `gradDot`, `dataInf`) plus `Self`.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import type { FeaturizeSpec, LayerSelection, ProjectorSpec } from '../grad/types';
import type { DataInfOptions } from '../methods/dataInf';
import { dataInfSelfScores } from '../methods/dataInfSelf';
import { type EkfacOptions, ekfacSelfScores } from '../methods/influence/ekfac';
import {
  influenceSelfOverCheckpoints,
  influenceSelfScores,
} from '../methods/influence/influenceSelf';
import { type CurvatureOptions, projectedCurvature } from '../methods/influence/projectedCurvature';
import type { FisherLabels } from '../methods/influence/sampledLabels';
import { selfInfluence } from '../methods/selfInfluence';
import {
  datasetFactorBatches,
  fitDatasetEkfac,
  sampledDatasetLabels,
} from '../pipeline/datasetFactors';
import { featurizeDataset } from '../pipeline/featurizeDataset';
import { exampleLosses } from '../train/evaluateModel';

/** What the self-scorers are configured by (part of the benchmark's input). */
export interface SelfScoreOptions {
  projector: ProjectorSpec;
  layers?: LayerSelection;
  featurizeBatchSize?: number;
  /**
   * The projected influence function's curvature; `fisher`: its labels, the observed ones (the
   * empirical Fisher, default) or drawn from the model.
   */
  curvature?: CurvatureOptions & { fisher?: FisherLabels };
  dataInf?: DataInfOptions;
  /** EK-FAC's damping and Fisher (default the true Fisher: labels drawn from the model). */
  ekfac?: EkfacOptions;
  /** Layers EK-FAC covers (default `layers`); it needs layers with dense inputs (no Embedding). */
  ekfacLayers?: LayerSelection;
}

export const featurizeBatch = (o: SelfScoreOptions) => o.featurizeBatchSize ?? 512;

export const featurizeSpec = (o: SelfScoreOptions): FeaturizeSpec => ({
  layers: o.layers,
  projector: o.projector,
  batchSize: featurizeBatch(o),
});

/** A term per checkpoint, summed over the TracIn checkpoints. */
interface CheckpointScorer {
  over: 'checkpoints';
  score: (f: ExampleFeatures, c: CheckpointInfo, o: SelfScoreOptions) => Float64Array;
}

export interface FinalContext {
  /** At θ_f. */
  model: LayersModel;
  /** The training rows with their (noisy) labels. */
  train: Dataset;
  /** θ_f's features, where the scorer asks for them. */
  features: ExampleFeatures;
  options: SelfScoreOptions;
}

/** A score at θ_f; `features`: whether it reads θ_f's features (its seconds then include them). */
interface FinalScorer {
  over: 'final';
  features: boolean;
  score: (ctx: FinalContext) => Float64Array;
}

export type SelfScorer = CheckpointScorer | FinalScorer;

/** The seeds of the labels drawn for a true Fisher (fixed, so the benchmark is repeatable). */
export const FISHER_SEEDS = { ekfacSelf: 1000, influenceSelf: 2000 } as const;

export const selfScorers = {
  /** TracIn-CP: Σ_c η_c ‖g_i(θ_c)‖², exact norms. */
  tracinSelf: { over: 'checkpoints', score: (f, c) => selfInfluence([f], [c], 'exact') },
  /** The same with the projected vectors' norms. */
  tracinSelfProjected: {
    over: 'checkpoints',
    score: (f, c) => selfInfluence([f], [c], 'projected'),
  },
  /** Grad-Dot: ‖g_i(θ_f)‖². */
  gradDotSelf: {
    over: 'final',
    features: true,
    score: ({ features }) => Float64Array.from(features.sqNorm),
  },
  /** The training loss at θ_f (one forward pass). */
  loss: {
    over: 'final',
    features: false,
    score: ({ model, train, options }) => exampleLosses(model, train, featurizeBatch(options)),
  },
  /** g_iᵀ(F + λI)⁻¹g_i at θ_f, F the projected gradients' second moment. */
  influenceSelf: {
    over: 'final',
    features: true,
    score: ({ model, train, features, options }) => {
      let fit = features;
      if (options.curvature?.fisher === 'sampled') {
        // The true Fisher: the same projection of gradients with labels drawn from the model.
        const labels = sampledDatasetLabels(
          model,
          train,
          featurizeBatch(options),
          FISHER_SEEDS.influenceSelf,
        );
        fit = featurizeDataset(model, { ...train, labels }, 0, train.rows, featurizeSpec(options));
      }
      return influenceSelfScores(features, projectedCurvature(fit, options.curvature));
    },
  },
  /** Σ_c η_c g_cᵀ(F_c + λ_c I)⁻¹g_c over the TracIn checkpoints. */
  influenceSelfCheckpoints: {
    over: 'checkpoints',
    score: (f, c, o) => influenceSelfOverCheckpoints([f], [c], o.curvature),
  },
  /** DataInf's closed-form inverse with q = g_i at θ_f. */
  dataInfSelf: {
    over: 'final',
    features: true,
    score: ({ features, options }) => dataInfSelfScores(features, options.dataInf),
  },
  /** EK-FAC self-influence at θ_f on unprojected factors: fit (two passes), then score (a third). */
  ekfacSelf: {
    over: 'final',
    features: false,
    score: ({ model, train, options }) => {
      const spec = {
        layers: options.ekfacLayers ?? options.layers,
        batchSize: featurizeBatch(options),
      };
      const ekfac = fitDatasetEkfac(model, train, spec, options.ekfac, FISHER_SEEDS.ekfacSelf);
      const out = new Float64Array(train.rows);
      let s = 0;
      for (const blocks of datasetFactorBatches(model, train, spec)) {
        out.set(ekfacSelfScores(ekfac, blocks), s);
        s += blocks[0].rows;
      }
      return out;
    },
  },
} satisfies Record<string, SelfScorer>;

export type SelfScorerName = keyof typeof selfScorers;
export const SELF_SCORERS = Object.keys(selfScorers) as SelfScorerName[];

export function isSelfScorerName(name: string): name is SelfScorerName {
  return Object.hasOwn(selfScorers, name);
}
