/**
 * Methods by name with one signature, so a runner (in-process, or a score activity over one
 * shard) can call any of them. Features are per checkpoint; final-model methods use the last.
 * Every method returns queries × train scores, positive = proponent.
 *
 * Shard by shard: gradDot, gradCos, tracin need nothing global. influenceProjected needs the
 * curvature (factorCurvature over merged gramPartials) and dataInf needs λ_l and the merged pass
 * one (dataInfDamping, dataInfPassOne); pass them in options, or leave them out to compute them
 * from `train` (correct only when `train` is the whole training set).
 */
import type { CheckpointInfo, ExampleFeatures } from '../features';
import type { ScoreMatrix } from './blockProduct';
import { type DataInfOptions, type DataInfPassOne, dataInf, dataInfPrecondition } from './dataInf';
import { type GradCosOptions, gradCos } from './gradCos';
import { gradDot } from './gradDot';
import { influenceScores, scoresFromPreconditioned } from './influence/influenceScores';
import {
  type CurvatureOptions,
  type ProjectedCurvature,
  projectedCurvature,
  projectedInfluence,
} from './influence/projectedCurvature';
import { tracIn } from './tracIn';

export interface MethodOptions {
  gradCos?: GradCosOptions;
  /** influenceProjected: a curvature computed once over the whole training set. */
  curvature?: ProjectedCurvature;
  curvatureOptions?: CurvatureOptions;
  /** dataInf: λ_l and the merged pass one over the whole training set. */
  dataInf?: { lambdas: number[]; passOne: DataInfPassOne };
  dataInfOptions?: DataInfOptions;
  /** influenceExact: q ↦ (H + λI)⁻¹ q (e.g. conjugateGradient or lissa over meanLossHvp). */
  solve?: (q: Float64Array) => Float64Array;
}

export interface MethodInput {
  train: ExampleFeatures[];
  query: ExampleFeatures[];
  checkpoints: CheckpointInfo[];
  options?: MethodOptions;
}

export type ScoreFunction = (input: MethodInput) => ScoreMatrix;

function finalOf(list: ExampleFeatures[], what: string): ExampleFeatures {
  if (!list || list.length === 0) throw new Error(`scoreMethod: no ${what} features`);
  return list[list.length - 1];
}

/** The registry: a method's key is its one name (run specs, the pipeline, benchmarks, tests). */
export const methods = {
  gradDot: ({ train, query }) => gradDot(finalOf(train, 'train'), finalOf(query, 'query')),
  gradCos: ({ train, query, options }) =>
    gradCos(finalOf(train, 'train'), finalOf(query, 'query'), options?.gradCos),
  tracin: ({ train, query, checkpoints }) => tracIn(train, query, checkpoints),
  influenceProjected: ({ train, query, options }) => {
    const t = finalOf(train, 'train');
    const curvature = options?.curvature ?? projectedCurvature(t, options?.curvatureOptions);
    return projectedInfluence(t, finalOf(query, 'query'), curvature);
  },
  influenceExact: ({ train, query, options }) => {
    if (!options?.solve) throw new Error('scoreMethod: influenceExact needs options.solve');
    return influenceScores(finalOf(train, 'train'), finalOf(query, 'query'), options.solve);
  },
  dataInf: ({ train, query, options }) => {
    const t = finalOf(train, 'train');
    const q = finalOf(query, 'query');
    if (!options?.dataInf) return dataInf(t, q, options?.dataInfOptions);
    const { lambdas, passOne } = options.dataInf;
    return scoresFromPreconditioned(dataInfPrecondition(q, passOne, lambdas), t);
  },
} satisfies Record<string, ScoreFunction>;

export type MethodName = keyof typeof methods;

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}

/** Scores with the method of that name (a name from outside is checked here). */
export function scoreMethod(name: string, input: MethodInput): ScoreMatrix {
  if (!isMethodName(name))
    throw new Error(
      `scoreMethod: unknown method '${name}' (known: ${Object.keys(methods).join(', ')})`,
    );
  return methods[name](input);
}

export * from './blockProduct';
export * from './clustering';
export * from './dataInf';
export * from './gradCos';
export * from './gradDot';
export * from './influence/conjugateGradient';
export * from './influence/hvp';
export * from './influence/influenceScores';
export * from './influence/lissa';
export * from './influence/projectedCurvature';
export * from './selfInfluence';
export * from './tracIn';
