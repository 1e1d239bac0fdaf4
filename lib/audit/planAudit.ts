import type * as tfl from '@tensorflow/tfjs-layers';
import { inputStep } from '../failures';
import { buildModel } from '../model/architectures';
import { checkpointPrefix, readCheckpointManifest } from '../model/checkpoints';
import { learningWarnings } from '../model/learned';
import { layersAndSelfScoreProblem } from '../pipeline/buildPlan';
import {
  canonical,
  FEATURE_CODE_VERSION,
  featureKey,
  featureSpecHash,
  planKeyOf,
  SCORE_CODE_VERSION,
} from '../pipeline/keys';
import { planShards } from '../pipeline/plan';
import { parseRunSpec } from '../pipeline/runSpec';
import type { Plan } from '../pipeline/types';
import { addressBody, checkSameAddress } from '../specAddress';
import { MANIFEST, readManifest, sha256 } from '../store/commit';
import { getJson, type ObjectStore, putJson } from '../store/objectStore';
import {
  AuditInputError,
  type AuditSpec,
  auditPrefix,
  auditRoot,
  auditStamp,
  parseAuditInput,
} from './auditSpec';
import { listBatches } from './batches';
import { foldSelfInfluence } from './outOfFoldSpec';
import type { AuditSummary } from './reportAudit';

/**
 * One audit resolved against the store. Each batch gets an ordinary pipeline Plan (its shards,
 * the checkpoints, the feature spec), so the pipeline's featurizeShard computes and finds its
 * features at the same content addresses as attribution runs: nothing is featurized twice.
 */
export interface AuditPlan {
  spec: AuditSpec;
  stamp: string;
  /** Where the audit's report is committed. */
  prefix: string;
  /** When the audit ran (the workflow's clock), ISO. */
  time: string;
  checkpoints: Plan['checkpoints'];
  featureSpecHash: string;
  classes: string[];
  rows: number;
  /** What the user must know about the inputs (e.g. a model that has not learned). */
  warnings?: string[];
  /** What the report is a function of (auditAddressBody): a stored audit must match it. */
  address: unknown;
  batches: { name: string; prefix: string; rows: number; shards: number; planKey: string }[];
  /**
   * With spec.outOfFold, content-addressed: the fold models' folder (their saved training
   * states) and, inside it, their scores' (each fold's committed scores under these settings).
   */
  outOfFold?: { prefix: string; scores: string; folds: number };
}

/** What a workflow carries: the plan's key and the featurize work left, compactly. */
export interface AuditPlanRef {
  planKey: string;
  prefix: string;
  stamp: string;
  rows: number;
  /** Per batch, the key of its pipeline Plan (a featurize task names it). */
  batchPlans: string[];
  /** [batch, shard, checkpoint] of every feature file not committed yet. */
  pending: [number, number, number][];
  /** Feature files already committed (by earlier audits or attribution runs). */
  reused: number;
  total: number;
  /** Fold models to train (spec.outOfFold), 0 without the option. */
  folds: number;
  /** Set when this audit was already committed (a retried workflow). */
  completed?: AuditSummary;
}

/** Bump when the fold training code changes the models it saves (every fold trains again). */
export const OUT_OF_FOLD_CODE_VERSION = 'oof-2';
/** Bump when the fold scoring code changes what a fold commits (the models are kept). */
export const FOLD_SCORES_CODE_VERSION = 'fold-scores-1';

export async function planAudit(
  store: ObjectStore,
  input: unknown,
  time: string,
  loadModel: (key: string) => Promise<tfl.LayersModel>,
): Promise<{ plan: AuditPlan; ref: AuditPlanRef }> {
  const spec = parseAuditInput(input);
  const stamp = auditStamp(time);
  const prefix = auditPrefix(spec.name, stamp);
  const planKey = planKeyOf(prefix);
  const done = await readManifest<AuditSummary>(store, prefix);

  const manifest = await inputStep('checkpoints', () =>
    readCheckpointManifest(store, spec.checkpoints, { verifyHashes: true }),
  );
  const checkpoints = manifest.checkpoints.map((c) => ({
    step: c.step,
    learningRate: c.learningRate,
    key: checkpointPrefix(spec.checkpoints, c),
    hash: c.hash as string,
  }));
  const batches = await inputStep('data', () => listBatches(store, spec.data));
  const { shape, classes } = batches[0].info;
  const model = await loadModel(checkpoints[checkpoints.length - 1].key);
  const size = (s: (number | null)[]) => s.reduce<number>((a, b) => a * (b ?? 1), 1);
  if (size(model.inputs[0].shape.slice(1)) !== size(shape)) {
    throw new AuditInputError(
      `data: examples have shape [${shape}] but the model takes [${model.inputs[0].shape.slice(1)}]`,
    );
  }
  if (model.outputs[0].shape[1] !== classes.length) {
    throw new AuditInputError(
      `checkpoints: the model has ${model.outputs[0].shape[1]} outputs but the data has ${classes.length} classes`,
    );
  }

  const layerProblem = layersAndSelfScoreProblem(
    model,
    spec.layers,
    spec.selfScore,
    spec.projector,
    shape,
  );
  if (layerProblem) throw new AuditInputError(layerProblem);

  const plan: AuditPlan = {
    spec,
    stamp,
    prefix,
    time,
    checkpoints,
    featureSpecHash: '',
    classes,
    rows: 0,
    address: auditAddressBody(spec, checkpoints, batches),
    ...learningWarnings(manifest.checkpoints, classes.length),
    batches: [],
  };
  if (done) {
    // A retried workflow names the same report: it must be this audit's.
    const stored = await readAuditPlan(store, planKey);
    checkSameAddress(stored.address, plan.address, planKey, (m) => new AuditInputError(m));
  }
  const batchPlans: Plan[] = [];
  for (const b of batches) {
    const runSpec = parseRunSpec({
      name: spec.name,
      checkpoints: spec.checkpoints,
      train: b.prefix,
      query: b.prefix,
      projector: spec.projector,
      layers: spec.layers,
      shardSize: spec.shardSize,
      batchSize: spec.batchSize,
      topK: 1,
    });
    const fsh = featureSpecHash(runSpec);
    plan.featureSpecHash = fsh;
    const shards = planShards(b.info.parts, spec.shardSize);
    const body = {
      spec: runSpec,
      checkpoints,
      train: { prefix: b.prefix, rows: b.info.rows, shards },
      query: { prefix: b.prefix, rows: 0, shards: [] },
      featureSpecHash: fsh,
      numClasses: classes.length,
    };
    const h = sha256(canonical(body)).slice(0, 24);
    // Content-addressed: every audit that sees this batch with this model reuses the plan.
    const batchPlan: Plan = {
      ...body,
      address: h,
      runPrefix: `${auditRoot(spec.name)}/plans/${h}`,
    };
    const key = `${batchPlan.runPrefix}.json`;
    if (!(await store.exists(key))) await putJson(store, key, batchPlan);
    batchPlans.push(batchPlan);
    plan.batches.push({
      name: b.name,
      prefix: b.prefix,
      rows: b.info.rows,
      shards: shards.length,
      planKey: key,
    });
    plan.rows += b.info.rows;
  }

  if (spec.outOfFold) {
    const arch = spec.outOfFold.architecture;
    try {
      buildModel(arch, {
        shape,
        classes: classes.length,
        vocabSize: batches[0].info.vocabSize,
      }).dispose();
    } catch (e) {
      throw new AuditInputError(
        `outOfFold.architecture: ${arch.kind} does not fit examples of shape [${shape}]: ${(e as Error).message}`,
      );
    }
    // Everything the fold models are trained from: the option less what only scores or ranks
    // (listed, so a field added later is in the address by default), every part of every batch
    // (in order) and the code's version. A change to how they are scored does not train them again.
    const { rankBy: _rankBy, relativeDamping: _damping, ...training } = spec.outOfFold;
    const models = {
      version: OUT_OF_FOLD_CODE_VERSION,
      outOfFold: training,
      classes,
      data: batches.map((b) => ({ shape: b.info.shape, parts: b.info.parts.map((p) => p.sha256) })),
    };
    const prefix = `${auditRoot(spec.name)}/folds/${sha256(canonical(models)).slice(0, 24)}`;
    // And what their scores add: the featurize settings and the self-influence's.
    const scores = {
      code: [FOLD_SCORES_CODE_VERSION, FEATURE_CODE_VERSION, SCORE_CODE_VERSION],
      projector: spec.projector,
      selfInfluence: foldSelfInfluence(spec.selfScore, spec.outOfFold),
    };
    plan.outOfFold = {
      prefix,
      scores: `${prefix}/scores-${sha256(canonical(scores)).slice(0, 24)}`,
      folds: spec.outOfFold.folds,
    };
  }

  const pending: [number, number, number][] = [];
  let total = 0;
  for (let b = 0; b < batchPlans.length; b++) {
    for (const shard of batchPlans[b].train.shards) {
      for (let c = 0; c < checkpoints.length; c++) {
        total++;
        const key = featureKey(checkpoints[c].hash, plan.featureSpecHash, shard.hash);
        if (!(await store.exists(`${key}/${MANIFEST}`))) pending.push([b, shard.index, c]);
      }
    }
  }
  if (!done) await putJson(store, planKey, plan);
  const ref: AuditPlanRef = {
    planKey,
    prefix,
    stamp,
    rows: plan.rows,
    batchPlans: plan.batches.map((b) => b.planKey),
    pending,
    reused: total - pending.length,
    total,
    folds: plan.outOfFold?.folds ?? 0,
    completed: done?.meta,
  };
  return { plan, ref };
}

/**
 * Everything an audit's report is a function of: the whole spec less its scheduling fields
 * (lib/specAddress.ts), the checkpoints, each batch's parts and the code versions.
 */
export function auditAddressBody(
  spec: AuditSpec,
  checkpoints: { step: number; learningRate: number; hash: string }[],
  batches: { name: string; info: { parts: { sha256: string; rows: number }[] } }[],
): unknown {
  return addressBody('audit', spec, {
    checkpoints: checkpoints.map((c) => ({
      step: c.step,
      learningRate: c.learningRate,
      hash: c.hash,
    })),
    batches: batches.map((b) => ({
      name: b.name,
      parts: b.info.parts.map((p) => ({ sha256: p.sha256, rows: p.rows })),
    })),
    code: [
      FEATURE_CODE_VERSION,
      SCORE_CODE_VERSION,
      ...(spec.outOfFold ? [OUT_OF_FOLD_CODE_VERSION] : []),
    ],
  });
}

export function readAuditPlan(store: ObjectStore, planKey: string): Promise<AuditPlan> {
  return getJson<AuditPlan>(store, planKey);
}
