/**
 * The audit's self-scores, scaled out (issue #15): one step per part (a part is one shard of one
 * batch, in ranking order), so the steps run on every worker and the report reads only each
 * part's small result file (ids, labels, last-checkpoint loss, self-score), never a feature file.
 *
 * - 'tracin': a part's exact self-influence Σ_c η_c ‖g_i(θ_c)‖² depends on its feature files
 *   only, so it is committed under a content address (its feature prefixes, the self-score spec,
 *   the checkpoints' learning rates, the code): the next night's audit finds it for every
 *   unchanged part and computes only the new parts'.
 * - 'influence': a part's curvature partials per checkpoint are content-addressed the same way
 *   (they do not depend on the damping or on the other parts); the audit sums them as a reduce
 *   tree of at most `reduceGroup` partials (curvatureReduce.ts's tree, leaves = parts), factors
 *   each checkpoint's curvature once, then scores each part against it under the audit's prefix.
 *
 * Over 300 lines because the parts' numbering, their addresses, the steps of both self-scores and
 * the file the report reads are one unit: each step writes what the next or the report reads.
 */
import { readColumn, readTable, writeColumns } from '../arrow/columns';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { selectLayers } from '../methods/selectLayers';
import { selfInfluence } from '../methods/selfInfluence';
import {
  curvatureKind,
  encodePartials,
  selfScoresOverCheckpoints,
} from '../pipeline/curvatureKinds';
import {
  CURVATURE_FILE,
  type CurvatureTree,
  factorCurvatureTree,
  type InfluenceSelf,
  readFactoredTree,
  sumCurvatureTreeNode,
} from '../pipeline/curvatureReduce';
import type { FeatureFile } from '../pipeline/featureFile';
import { canonical, SCORE_CODE_VERSION } from '../pipeline/keys';
import type { RunContext } from '../pipeline/runContext';
import type { ReduceStepResult } from '../pipeline/types';
import { reduceLevels } from '../reduce/reduceTree';
import { readCommitted, readManifest, sha256, Transaction } from '../store/commit';
import { auditRoot } from './auditSpec';
import { type AuditPlan, readAuditPlan } from './planAudit';

/** Bump when what a part's step commits changes for the same inputs. */
export const AUDIT_PART_CODE_VERSION = 'audit-part-1';
/** A part's rows and self-scores. */
export const PART_SCORES_FILE = 'self.arrow';

/** What one part's step did. */
export interface PartResult {
  part: number;
  rows: number;
  cached: boolean;
  seconds: number;
}

/** One part's rows as the report needs them. */
export interface PartScores {
  ids: Int32Array;
  labels: Int32Array;
  /** The audited model's (last checkpoint's) loss per row: how well it fits the given label. */
  loss: Float32Array;
  scores: Float64Array;
}

const pad = (n: number) => String(n).padStart(6, '0');

/** How many parts the audit ranks: every shard of every batch. */
export function auditPartCount(plan: Pick<AuditPlan, 'batches'>): number {
  return plan.batches.reduce((s, b) => s + b.shards, 0);
}

/** Part `part` as (batch, shard), parts numbered batch by batch in ranking order. */
export function auditPartOf(
  plan: Pick<AuditPlan, 'batches'>,
  part: number,
): { batch: number; shard: number } {
  if (!(Number.isInteger(part) && part >= 0)) throw new Error(`audit has no part ${part}`);
  let p = part;
  for (let b = 0; b < plan.batches.length; b++) {
    if (p < plan.batches[b].shards) return { batch: b, shard: p };
    p -= plan.batches[b].shards;
  }
  throw new Error(`audit has no part ${part} (it has ${auditPartCount(plan)})`);
}

async function partPlan(ctx: RunContext, plan: AuditPlan, part: number) {
  const { batch, shard } = auditPartOf(plan, part);
  return { batchPlan: await ctx.plan(plan.batches[batch].planKey), shard };
}

/** The audit's plan, read once per process (an audit's plan is written once per address). */
const auditPlan = (ctx: RunContext, planKey: string) =>
  ctx.cached(planKey, () => readAuditPlan(ctx.store, planKey));

const checkpointInfos = (plan: AuditPlan): CheckpointInfo[] =>
  plan.checkpoints.map((c) => ({ step: c.step, learningRate: c.learningRate }));

/**
 * Where part `part`'s content-addressed result lives: its TracIn self-scores, or its influence
 * curvature partials. Everything the result is computed from is in the hash: the part's feature
 * files (each feature key holds the checkpoint's hash, the feature spec and the shard's
 * content), what the self-score reads of them, and the code's versions.
 */
export async function partPrefix(ctx: RunContext, plan: AuditPlan, part: number): Promise<string> {
  const { batchPlan, shard } = await partPlan(ctx, plan, part);
  const self = plan.spec.selfScore;
  const body = {
    features: plan.checkpoints.map((_, c) => ctx.featurePrefix(batchPlan, 'train', shard, c)),
    ...(self.kind === 'tracin'
      ? { step: 'self', selfScore: self, checkpoints: checkpointInfos(plan) }
      : { step: 'curvature', layers: self.layers, curvature: self.curvature, sketch: self.sketch }),
    code: [SCORE_CODE_VERSION, AUDIT_PART_CODE_VERSION],
  };
  return `${auditRoot(plan.spec.name)}/parts/${sha256(canonical(body)).slice(0, 24)}`;
}

/** Part `part`'s influence self-scores (they depend on the whole audit's curvature). */
const influencePrefix = (plan: AuditPlan, part: number) => `${plan.prefix}/self/${pad(part)}`;

/** Where a part's self-scores are read from by the report. */
export async function partScoresPrefix(
  ctx: RunContext,
  plan: AuditPlan,
  part: number,
): Promise<string> {
  return plan.spec.selfScore.kind === 'tracin'
    ? partPrefix(ctx, plan, part)
    : influencePrefix(plan, part);
}

/** What the workflow needs to schedule the self-score steps: counts and small lists only. */
export interface AuditPartsPlan {
  parts: number;
  /** Parts whose content-addressed step is not committed, in order. */
  pending: number[];
  /** The influence self-score's curvature tree (node counts per level, parts first), else null. */
  levels: number[] | null;
}

/** The parts whose content-addressed step has not committed yet (the work a night adds). */
export async function pendingParts(ctx: RunContext, planKey: string): Promise<AuditPartsPlan> {
  const plan = await auditPlan(ctx, planKey);
  const pending = [];
  for (let p = 0; p < auditPartCount(plan); p++) {
    if (!(await readManifest(ctx.store, await partPrefix(ctx, plan, p)))) pending.push(p);
  }
  const levels = plan.spec.selfScore.kind === 'influence' ? auditReduceLevels(plan) : null;
  return { parts: auditPartCount(plan), pending, levels };
}

async function partFeatures(
  ctx: RunContext,
  plan: AuditPlan,
  part: number,
  onProgress: () => void,
): Promise<FeatureFile[]> {
  const { batchPlan, shard } = await partPlan(ctx, plan, part);
  const files = [];
  for (let c = 0; c < plan.checkpoints.length; c++) {
    files.push(await ctx.features(batchPlan, 'train', shard, c));
    onProgress();
  }
  return files;
}

function writePartScores(files: FeatureFile[], scores: Float64Array): Uint8Array {
  const last = files[files.length - 1];
  return writeColumns(scores.length, {
    id: { values: last.ids },
    label: { values: last.labels },
    loss: { values: last.features.loss, type: 'float32' },
    self_influence: { values: scores },
  });
}

async function step(
  ctx: RunContext,
  prefix: string,
  part: number,
  compute: () => Promise<{ rows: number; put: (tx: Transaction) => Promise<void> }>,
): Promise<PartResult> {
  const t0 = performance.now();
  const done = await readManifest<{ rows: number }>(ctx.store, prefix);
  if (done) return { part, rows: done.meta.rows, cached: true, seconds: 0 };
  const { rows, put } = await compute();
  const tx = new Transaction(ctx.store, prefix);
  await put(tx);
  await tx.commit({ part, rows });
  return { part, rows, cached: false, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The audit's content-addressed step for one part: its TracIn self-influence (exact norms, as
 * selfInfluence computes it on the whole part) or its influence curvature partials per
 * checkpoint. Idempotent: a committed part (tonight's or an earlier audit's) is skipped.
 */
export async function auditPartStep(
  ctx: RunContext,
  planKey: string,
  part: number,
  onProgress: () => void = () => {},
): Promise<PartResult> {
  const plan = await auditPlan(ctx, planKey);
  const self = plan.spec.selfScore;
  return step(ctx, await partPrefix(ctx, plan, part), part, async () => {
    const files = await partFeatures(ctx, plan, part, onProgress);
    const feats = files.map((f) => f.features);
    if (self.kind === 'tracin') {
      const scores = selfInfluence(feats, checkpointInfos(plan), 'exact');
      return {
        rows: scores.length,
        put: async (tx) => void (await tx.put(PART_SCORES_FILE, writePartScores(files, scores))),
      };
    }
    const kind = curvatureKind(self);
    const partials: unknown[] = [];
    for (const f of feats) {
      partials.push(await kind.partial(selectLayers(f, self.layers), onProgress));
    }
    return {
      rows: feats[0].grads.rows,
      put: async (tx) => void (await tx.put(CURVATURE_FILE, encodePartials(kind, partials))),
    };
  });
}

function influenceOf(plan: AuditPlan): InfluenceSelf {
  const self = plan.spec.selfScore;
  if (self.kind !== 'influence')
    throw new Error(`audit ${plan.prefix} has no influence self-score`);
  return self;
}

/** The audit's curvature tree: the parts' partials are its leaves, its sums the audit's own. */
export function auditCurvatureTree(ctx: RunContext, plan: AuditPlan): CurvatureTree {
  const self = influenceOf(plan);
  return {
    kind: curvatureKind(self),
    checkpoints: plan.checkpoints.length,
    relativeDamping: self.relativeDamping,
    levels: auditReduceLevels(plan),
    group: plan.spec.reduceGroup,
    nodePrefix: (level, node) =>
      level === 0 ? partPrefix(ctx, plan, node) : `${plan.prefix}/curvature/L${level}/${pad(node)}`,
    factoredPrefix: `${plan.prefix}/curvature/factored`,
  };
}

/** The node counts of the audit's curvature tree, parts first. */
export function auditReduceLevels(plan: Pick<AuditPlan, 'batches' | 'spec'>): number[] {
  return reduceLevels(auditPartCount(plan), plan.spec.reduceGroup);
}

/** One inner node of the audit's curvature tree; idempotent. */
export async function sumAuditCurvatureNode(
  ctx: RunContext,
  planKey: string,
  level: number,
  node: number,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  const plan = await auditPlan(ctx, planKey);
  return sumCurvatureTreeNode(ctx.store, auditCurvatureTree(ctx, plan), level, node, onProgress);
}

/** Sums the tree's top level and factors each checkpoint's curvature once; idempotent. */
export async function factorAuditCurvature(
  ctx: RunContext,
  planKey: string,
  onProgress: () => void = () => {},
): Promise<ReduceStepResult> {
  const plan = await auditPlan(ctx, planKey);
  return factorCurvatureTree(ctx.store, auditCurvatureTree(ctx, plan), onProgress);
}

/**
 * One part's influence self-scores Σ_c η_c g_iᵀ(F_c + λ_c I)⁻¹g_i against the audit's factored
 * curvature, checkpoints added in order into zeros as influenceSelfPasses does; idempotent.
 */
export async function auditPartInfluence(
  ctx: RunContext,
  planKey: string,
  part: number,
  onProgress: () => void = () => {},
): Promise<PartResult> {
  const plan = await auditPlan(ctx, planKey);
  const self = influenceOf(plan);
  return step(ctx, influencePrefix(plan, part), part, async () => {
    const tree = auditCurvatureTree(ctx, plan);
    const curvatures = await readFactoredTree(ctx, tree);
    const files = await partFeatures(ctx, plan, part, onProgress);
    const feats: ExampleFeatures[] = files.map((f) => selectLayers(f.features, self.layers));
    const scores = await selfScoresOverCheckpoints(
      tree.kind,
      feats,
      curvatures,
      checkpointInfos(plan),
    );
    return {
      rows: scores.length,
      put: async (tx) => void (await tx.put(PART_SCORES_FILE, writePartScores(files, scores))),
    };
  });
}

/** Part `part`'s committed rows and self-scores (the report's only reads per part). */
export async function readPartScores(
  ctx: RunContext,
  plan: AuditPlan,
  part: number,
): Promise<PartScores> {
  const prefix = await partScoresPrefix(ctx, plan, part);
  const what = `${prefix}/${PART_SCORES_FILE}`;
  const table = readTable(await readCommitted(ctx.store, prefix, PART_SCORES_FILE), what);
  return {
    ids: readColumn<Int32Array>(table, 'id', 'int32', what).values,
    labels: readColumn<Int32Array>(table, 'label', 'int32', what).values,
    loss: readColumn<Float32Array>(table, 'loss', 'float32', what).values,
    scores: readColumn<Float64Array>(table, 'self_influence', 'float64', what).values,
  };
}

/**
 * Every self-score step of an audit in this process, in order (runAuditInProcess; the workflow
 * runs the same steps on every worker): the pending parts' content-addressed steps, then for the
 * influence self-score the tree's inner levels, the factoring and each part's scores.
 */
export async function auditSelfScoresInProcess(
  ctx: RunContext,
  planKey: string,
  pending: number[],
): Promise<{ computed: number; reused: number }> {
  const plan = await auditPlan(ctx, planKey);
  let computed = 0;
  for (const p of pending) if (!(await auditPartStep(ctx, planKey, p)).cached) computed++;
  if (plan.spec.selfScore.kind === 'influence') {
    const levels = auditReduceLevels(plan);
    for (let level = 1; level < levels.length; level++) {
      for (let node = 0; node < levels[level]; node++) {
        await sumAuditCurvatureNode(ctx, planKey, level, node);
      }
    }
    await factorAuditCurvature(ctx, planKey);
    for (let p = 0; p < auditPartCount(plan); p++) await auditPartInfluence(ctx, planKey, p);
  }
  return { computed, reused: auditPartCount(plan) - computed };
}
