import type { ExampleFeatures } from '../features';
import { selectLayers } from '../methods/selectLayers';
import type { Transaction as Tx } from '../store/commit';
import { readCommitted, readManifest, Transaction } from '../store/commit';
import {
  type AnyCurvatureKind,
  curvatureKind,
  decodeFactored,
  decodePartials,
  encodeFactored,
  encodePartials,
} from './curvatureKinds';
import { type FeatureFile, readFeatureFile, writeFeatureFile } from './featureFile';
import {
  curvatureNodePrefix,
  factoredPrefix,
  partialPrefix,
  runReduceLevels,
} from './reducePrefixes';
import type { RunContext } from './runContext';
import { DEFAULT_SELF_SCORE, type SelfScoreSpec } from './runSpec';
import { stepResult, treeNodeStep } from './treeNodeStep';
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

type InfluenceSelf = Extract<SelfScoreSpec, { kind: 'influence' }>;

/** The run's influence self-score spec, or undefined when its self-score is TracIn's. */
export function influenceSelfOf(plan: Plan): InfluenceSelf | undefined {
  const self = plan.spec.selfScore ?? DEFAULT_SELF_SCORE;
  return self.kind === 'influence' ? self : undefined;
}

function kindOf(plan: Plan): { self: InfluenceSelf; kind: AnyCurvatureKind } {
  const self = influenceSelfOf(plan);
  if (!self) throw new Error(`run ${plan.runPrefix} has no influence self-score`);
  return { self, kind: curvatureKind(self.curvature) };
}

/** The self-score's layers of a shard's features at checkpoint c, beside its scores. */
export const selfFeaturesFile = (c: number) => `self-features-${c}.arrow`;

/**
 * What a shard's score step adds for the influence self-score, into its transaction: the
 * curvature partials per checkpoint and, when the self-score reads fewer layers than are stored,
 * those layers' features (same values, same dtype), so the second pass reads them and not the
 * whole feature files.
 */
export async function putShardCurvature(
  plan: Plan,
  train: FeatureFile[],
  tx: Pick<Tx, 'put'>,
): Promise<void> {
  const { self, kind } = kindOf(plan);
  const partials = [];
  for (const [c, f] of train.entries()) {
    const selected = selectLayers(f.features, self.layers);
    partials.push(await kind.partial(selected));
    if (selected.grads.dim < f.features.grads.dim) {
      const { layers: _, ...meta } = f.meta;
      await tx.put(
        selfFeaturesFile(c),
        writeFeatureFile({ ids: f.ids, labels: f.labels, features: selected }, meta),
      );
    }
  }
  await tx.put(CURVATURE_FILE, encodePartials(kind, partials));
}

/** The self-score's layers of shard `shard`'s features at every checkpoint, for its second pass. */
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
  const out: ExampleFeatures[] = [];
  for (let c = 0; c < plan.checkpoints.length; c++) {
    const name = selfFeaturesFile(c);
    if (manifest.files[name]) {
      const what = `${prefix}/${name}`;
      out.push(readFeatureFile(await readCommitted(ctx.store, prefix, name), what).features);
    } else {
      const f = (await ctx.features(plan, 'train', shard, c)).features;
      out.push(selectLayers(f, self.layers));
    }
    onProgress();
  }
  return out;
}

/** The fold, per checkpoint, of nodes [start, end) of `level`. */
async function sumNodes(
  ctx: RunContext,
  plan: Plan,
  level: number,
  start: number,
  end: number,
  onProgress: () => void,
): Promise<unknown[]> {
  const { kind } = kindOf(plan);
  let acc: unknown[] | undefined;
  for (let j = start; j < end; j++) {
    const prefix = curvatureNodePrefix(plan.runPrefix, level, j);
    const parts = decodePartials(
      kind,
      await readCommitted(ctx.store, prefix, CURVATURE_FILE),
      `${prefix}/${CURVATURE_FILE}`,
    );
    if (parts.length !== plan.checkpoints.length) {
      throw new Error(
        `${prefix}/${CURVATURE_FILE} has ${parts.length} checkpoints, the run ${plan.checkpoints.length}`,
      );
    }
    // One at a time, in node order: memory is two sums, whatever the group size.
    acc = acc ? acc.map((a, c) => kind.merge(a, parts[c])) : parts;
    onProgress();
  }
  return acc as unknown[];
}

/** Sums one inner node's children's partials (a reduce-tree step); idempotent. */
export function sumCurvatureNode(
  ctx: RunContext,
  planKey: string,
  level: number,
  node: number,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  return treeNodeStep(
    ctx,
    planKey,
    level,
    node,
    (plan) => curvatureNodePrefix(plan.runPrefix, level, node),
    async (plan, tx, start, end) => {
      const sums = await sumNodes(ctx, plan, level - 1, start, end, onProgress);
      await tx.put(CURVATURE_FILE, encodePartials(kindOf(plan).kind, sums));
      return {};
    },
  );
}

/** Sums the top level and factors each checkpoint's curvature once; idempotent. */
export async function factorRunCurvature(
  ctx: RunContext,
  planKey: string,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  const t0 = performance.now();
  const plan = await ctx.plan(planKey);
  const prefix = factoredPrefix(plan.runPrefix);
  const levels = runReduceLevels(plan);
  const top = levels.length - 1;
  if (await readManifest(ctx.store, prefix)) return stepResult(levels[top], true, t0);
  const { self, kind } = kindOf(plan);
  const sums = await sumNodes(ctx, plan, top, 0, levels[top], onProgress);
  const factored = sums.map((p) => kind.factor(p, { relativeDamping: self.relativeDamping }));
  const tx = new Transaction(ctx.store, prefix);
  await tx.put(FACTORED_FILE, encodeFactored(kind, factored));
  await tx.commit({ checkpoints: factored.length });
  return stepResult(levels[top], false, t0);
}

/** The run's factored curvature per checkpoint (kept by the context: every shard needs it). */
export function readFactoredCurvature(ctx: RunContext, plan: Plan): Promise<unknown[]> {
  const prefix = factoredPrefix(plan.runPrefix);
  return ctx.cached(prefix, async () => {
    const { kind } = kindOf(plan);
    return decodeFactored(
      kind,
      await readCommitted(ctx.store, prefix, FACTORED_FILE),
      `${prefix}/${FACTORED_FILE}`,
    );
  });
}
