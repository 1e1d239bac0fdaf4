import type { Shard } from './plan';
import type { RunSpec } from './runSpec';

/** What the planner resolves a spec into; stored as JSON at `planKey`, never sent whole. */
export interface Plan {
  spec: RunSpec;
  runPrefix: string;
  /** What the results are a function of (keys.ts runAddressBody): compared before reuse. */
  address: unknown;
  checkpoints: { step: number; learningRate: number; key: string; hash: string }[];
  train: { prefix: string; rows: number; shards: Shard[] };
  query: { prefix: string; rows: number; shards: Shard[] };
  /** Hash of the featurize settings (projector, layers, test function, code version). */
  featureSpecHash: string;
  numClasses: number;
  /** What the user must know about the inputs (e.g. a model that has not learned). */
  warnings?: string[];
}

/** The small summary of a plan that workflows carry. */
export interface PlanRef {
  planKey: string;
  runPrefix: string;
  checkpoints: number;
  trainShards: number;
  queryShards: number;
  trainRows: number;
  queryRows: number;
  limits: { window: number; shardsPerChild: number };
  /** The reduce trees' shape (lib/reduce/reduceTree.ts) and whether the curvature tree runs. */
  reduce: { group: number; influenceSelf: boolean };
  /** Set when the whole run was already committed: its summary, nothing left to do. */
  completed?: RunSummary;
}

/** A featurize of one shard of a set at some of the plan's checkpoints (each its own file). */
export interface ShardTask {
  planKey: string;
  set: 'train' | 'query';
  shard: number;
  /** Checkpoint indices, in the order they are computed. */
  checkpoints: number[];
  /**
   * Also score the (training) shard from the features in memory, as the score step would from
   * its files, when this attempt computes every checkpoint whole (featurizeShard): the score step
   * then finds its results committed.
   */
  score?: boolean;
}

export interface FeaturizeResult {
  rows: number;
  /** True when every checkpoint's file was committed already (by this run or another). */
  cached: boolean;
  /** Each checkpoint's committed file and whether it was found committed. */
  files: { checkpoint: number; prefix: string; cached: boolean }[];
  seconds: number;
  /** Chunks taken from an earlier attempt (a retry resumed from its heartbeat), 0 if none. */
  resumedChunks?: number;
  /** True when it also scored the shard (ShardTask.score). */
  scored?: boolean;
  /** Wall and CPU seconds per phase of the attempt (lib/phaseTimes.ts), for the benchmarks. */
  phases?: Record<string, number>;
  phasesCpu?: Record<string, number>;
}

export interface ScoreResult {
  shard: number;
  rows: number;
  cached: boolean;
  seconds: number;
  /** Wall and CPU seconds per phase (lib/phaseTimes.ts), for the benchmarks. */
  phases?: Record<string, number>;
  phasesCpu?: Record<string, number>;
}

/** A reduce-tree step: how many partials it combined. */
export interface ReduceStepResult {
  inputs: number;
  cached: boolean;
  seconds: number;
}

export interface RunSummary {
  runPrefix: string;
  manifestKey: string;
  method: string;
  trainRows: number;
  queryRows: number;
  checkpoints: number;
  topK: number;
  files: Record<string, string>;
  /** What the self-influence column holds (RunSpec.selfScore). */
  selfScore: 'tracin' | 'influence';
  /** Carried from the plan: what the user must know about the inputs. */
  warnings?: string[];
  /** Top self-influence examples (the mislabel audit), best first. */
  topSelfInfluence: { id: number; score: number }[];
}

export interface Progress {
  stage: 'plan' | 'featurize-queries' | 'shards' | 'curvature' | 'self-score' | 'reduce' | 'done';
  shardsDone: number;
  shardsTotal: number;
  examplesDone: number;
  examplesTotal: number;
  examplesPerSecond: number;
}
