import type { ExampleFeatures } from '../features';
import { type KroneckerSketch, sketchFeatures } from '../methods/influence/kroneckerSketch';
import { selectLayers } from '../methods/selectLayers';
import type { Transaction as Tx } from '../store/commit';
import { readCommitted, readCommittedFile, readManifest, Transaction } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import {
  type AnyCurvatureKind,
  decodeFactored,
  decodePartials,
  encodeFactored,
  encodePartials,
  unsketchedKind,
} from './curvatureKinds';
import {
  type FeatureFile,
  type FeatureFileMeta,
  readFeatureFile,
  writeFeatureFile,
} from './featureFile';
import {
  curvatureNodePrefix,
  factoredPrefix,
  partialPrefix,
  runReduceLevels,
} from './reducePrefixes';
import type { RunContext } from './runContext';
import { DEFAULT_SELF_SCORE, type SelfScoreSpec } from './runSpec';
import { stepResult, treeNode } from './treeNodeStep';
import type { Plan, ReduceStepResult } from './types';

/**
 * The influence self-score's curvature, scaled out: each shard's score step writes its partial
 * sums per checkpoint (CURVATURE_FILE beside its scores: K-FAC's Σ a aᵀ and Σ δ δᵀ per layer, or
 * the Gram Σ g gᵀ), steps of at most `reduceGroup` partials sum them level by level
 * (lib/reduce/reduceTree.ts: the order of the float sums), and one step sums the top level and
 * factors each checkpoint's curvature once into FACTORED_FILE, which every shard's self-score
 * step then reads. All of it under the run's content-addressed prefix.
 */
export const CURVATURE_FILE = 'curvature.arrow';
export const FACTORED_FILE = 'factored.arrow';

/** The influence self-score's spec (a run's or an audit's). */
export type InfluenceSelf = Extract<SelfScoreSpec, { kind: 'influence' }>;

/** The run's influence self-score spec, or undefined when its self-score is TracIn's. */
export function influenceSelfOf(plan: Plan): InfluenceSelf | undefined {
  const self = plan.spec.selfScore ?? DEFAULT_SELF_SCORE;
  return self.kind === 'influence' ? self : undefined;
}

/**
 * A run's self-score spec and its curvature kind, unsketched: a run's partials are summed, and its
 * shards scored, from features its score steps sketched once already (selfScoreFeatures).
 */
function kindOf(plan: Plan): { self: InfluenceSelf; kind: AnyCurvatureKind } {
  const self = influenceSelfOf(plan);
  if (!self) throw new Error(`run ${plan.runPrefix} has no influence self-score`);
  return { self, kind: unsketchedKind(self) };
}

/**
 * What the self-score reads of a shard at checkpoint c, beside its scores: its layers, or their
 * sketch under a name of its own, so that a run committed before sketches were stored (its files
 * hold the layers) is never read as sketched.
 */
export const selfFeaturesFile = (c: number, sketched = false) =>
  `self-${sketched ? 'sketched' : 'features'}-${c}.arrow`;

/**
 * What the self-score reads of a part's features: its layers, sketched where its spec sketches
 * (the features its curvature kind's sketch would make of them, kroneckerSketch.ts).
 */
function selfScoreFeatures(self: InfluenceSelf, f: ExampleFeatures): ExampleFeatures {
  const selected = selectLayers(f, self.layers);
  return self.sketch ? sketchFeatures(selected, self.sketch) : selected;
}

/**
 * What a shard's score step adds for the influence self-score, into its transaction: the
 * curvature partials per checkpoint and, when the self-score reads fewer layers than are stored
 * or sketches them, what it reads (selfScoreFeatures; float32 where sketched, else the stored
 * dtype), so the second pass reads that, not the whole feature files, and sketches nothing again
 * (bench:main: 1.3 MB per checkpoint of a shard where its last layer took 3.2; BENCHMARKS.md,
 * twentieth session).
 */
export async function putShardCurvature(
  plan: Plan,
  train: FeatureFile[],
  tx: Pick<Tx, 'put'>,
): Promise<void> {
  const { self, kind } = kindOf(plan);
  const partials = [];
  // Each file goes up while the next checkpoint's partial is computed.
  const puts: Promise<unknown>[] = [];
  for (const [c, f] of train.entries()) {
    const read = selfScoreFeatures(self, f.features);
    if (self.sketch || read.grads.dim < f.features.grads.dim) {
      // Written whole: the kept layers need not start with the one whose inputs the part holds.
      const { layers: _, inputColumns: __, ...meta } = f.meta;
      const file = writeFeatureFile(
        { ids: f.ids, labels: f.labels, features: read },
        self.sketch ? sketchedMeta(meta, self.sketch) : meta,
      );
      puts.push(tx.put(selfFeaturesFile(c, self.sketch !== undefined), file));
    }
    partials.push(await kind.partial(read));
  }
  puts.push(tx.put(CURVATURE_FILE, encodePartials(kind, partials)));
  await Promise.all(puts);
}

/**
 * A sketched file's metadata: dense float32, the sketch's Kronecker projector applied to what the
 * run's projector stored (`of`).
 */
function sketchedMeta(
  meta: Omit<FeatureFileMeta, 'layers' | 'inputColumns'>,
  sketch: KroneckerSketch,
): Omit<FeatureFileMeta, 'layers'> {
  const { sparse: _, ...rest } = meta;
  const projector = {
    kind: 'kronecker',
    ...sketch,
    dtype: 'float32',
    engine: 'tf',
    of: meta.projector,
  };
  return { ...rest, projector, dtype: 'float32' };
}

/**
 * What the self-score reads of shard `shard` at every checkpoint (selfScoreFeatures: sketched
 * where the spec sketches), for its second pass: the unsketched kind (unsketchedKind) scores it.
 */
export async function selfFeatures(
  ctx: RunContext,
  plan: Plan,
  shard: number,
  onProgress: () => void,
): Promise<ExampleFeatures[]> {
  const { self } = kindOf(plan);
  const prefix = partialPrefix(plan.runPrefix, shard);
  const manifest = await readManifest(ctx.store, prefix);
  if (!manifest) throw new Error(`shard ${shard} has no committed scores at ${prefix}`);
  // Every checkpoint's file fetched at once, from the manifest just read.
  return Promise.all(
    plan.checkpoints.map(async (_, c) => {
      const name = selfFeaturesFile(c, self.sketch !== undefined);
      const file = manifest.files[name];
      const f = file
        ? readFeatureFile(await readCommittedFile(ctx.store, file), `${prefix}/${name}`).features
        : selfScoreFeatures(self, (await ctx.features(plan, 'train', shard, c)).features);
      onProgress();
      return f;
    }),
  );
}

/**
 * A curvature tree, whoever owns it (a run's shards, an audit's parts): its kind, its shape
 * (lib/reduce/reduceTree.ts) and where its nodes and its factored top live.
 */
export interface CurvatureTree {
  kind: AnyCurvatureKind;
  checkpoints: number;
  relativeDamping: number;
  levels: number[];
  group: number;
  /** Where node `node` of `level` is committed (level 0: a leaf's partials). */
  nodePrefix: (level: number, node: number) => string | Promise<string>;
  factoredPrefix: string;
}

/** A run's curvature tree: its shards' score partials are the leaves. */
export function runCurvatureTree(plan: Plan): CurvatureTree {
  const { self, kind } = kindOf(plan);
  return {
    kind,
    checkpoints: plan.checkpoints.length,
    relativeDamping: self.relativeDamping,
    levels: runReduceLevels(plan),
    group: plan.spec.reduceGroup,
    nodePrefix: (level, node) => curvatureNodePrefix(plan.runPrefix, level, node),
    factoredPrefix: factoredPrefix(plan.runPrefix),
  };
}

/** The fold, per checkpoint, of nodes [start, end) of `level`. */
async function sumNodes(
  store: ObjectStore,
  tree: CurvatureTree,
  level: number,
  start: number,
  end: number,
  onProgress: () => void,
): Promise<unknown[]> {
  const { kind } = tree;
  let acc: unknown[] | undefined;
  for (let j = start; j < end; j++) {
    const prefix = await tree.nodePrefix(level, j);
    const parts = decodePartials(
      kind,
      await readCommitted(store, prefix, CURVATURE_FILE),
      `${prefix}/${CURVATURE_FILE}`,
    );
    if (parts.length !== tree.checkpoints) {
      throw new Error(
        `${prefix}/${CURVATURE_FILE} has ${parts.length} checkpoints, the run ${tree.checkpoints}`,
      );
    }
    // One at a time, in node order: memory is two sums, whatever the group size.
    acc = acc ? acc.map((a, c) => kind.merge(a, parts[c])) : parts;
    onProgress();
  }
  return acc as unknown[];
}

/** Sums one inner node's children's partials (a reduce-tree step); idempotent. */
export async function sumCurvatureTreeNode(
  store: ObjectStore,
  tree: CurvatureTree,
  level: number,
  node: number,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  return treeNode(
    store,
    tree,
    level,
    node,
    await tree.nodePrefix(level, node),
    async (tx, a, b) => {
      const sums = await sumNodes(store, tree, level - 1, a, b, onProgress);
      await tx.put(CURVATURE_FILE, encodePartials(tree.kind, sums));
      return {};
    },
  );
}

/** Sums the top level and factors each checkpoint's curvature once; idempotent. */
export async function factorCurvatureTree(
  store: ObjectStore,
  tree: CurvatureTree,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  const t0 = performance.now();
  const prefix = tree.factoredPrefix;
  const top = tree.levels.length - 1;
  if (await readManifest(store, prefix)) return stepResult(tree.levels[top], true, t0);
  const sums = await sumNodes(store, tree, top, 0, tree.levels[top], onProgress);
  const { kind, relativeDamping } = tree;
  const factored = sums.map((p) => kind.factor(p, { relativeDamping }));
  const tx = new Transaction(store, prefix);
  await tx.put(FACTORED_FILE, encodeFactored(kind, factored));
  await tx.commit({ checkpoints: factored.length });
  return stepResult(tree.levels[top], false, t0);
}

/** A tree's factored curvature per checkpoint (kept by the context: every leaf's step needs it). */
export function readFactoredTree(ctx: RunContext, tree: CurvatureTree): Promise<unknown[]> {
  const prefix = tree.factoredPrefix;
  return ctx.cached(prefix, async () =>
    decodeFactored(
      tree.kind,
      await readCommitted(ctx.store, prefix, FACTORED_FILE),
      `${prefix}/${FACTORED_FILE}`,
    ),
  );
}

/** Sums one inner node of a run's curvature tree; idempotent. */
export async function sumCurvatureNode(
  ctx: RunContext,
  planKey: string,
  level: number,
  node: number,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  const tree = runCurvatureTree(await ctx.plan(planKey));
  return sumCurvatureTreeNode(ctx.store, tree, level, node, onProgress);
}

/** Sums a run's top level and factors each checkpoint's curvature once; idempotent. */
export async function factorRunCurvature(
  ctx: RunContext,
  planKey: string,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  const tree = runCurvatureTree(await ctx.plan(planKey));
  return factorCurvatureTree(ctx.store, tree, onProgress);
}

/** The run's factored curvature per checkpoint (kept by the context: every shard needs it). */
export function readFactoredCurvature(ctx: RunContext, plan: Plan): Promise<unknown[]> {
  return readFactoredTree(ctx, runCurvatureTree(plan));
}
