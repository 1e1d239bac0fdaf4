import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type PartitionedInfo, readPartitionedInfo } from '../data/partitionedDataset';
import { isTransient } from '../failures';
import type { ExampleFeatures } from '../features';
import { modelHead, planModel } from '../grad/factors';
import { featurize } from '../grad/featurize';
import type { Head } from '../grad/head';
import type { LayerSelection, ProjectorSpec } from '../grad/types';
import { storedFactorBlocks } from '../methods/influence/kfac';
import { sketchFeatures } from '../methods/influence/kroneckerSketch';
import { selectLayers } from '../methods/selectLayers';
import { checkpointPrefix, readCheckpointManifest } from '../model/checkpoints';
import { learningWarnings } from '../model/learned';
import { NotFoundError, type ObjectStore } from '../store/objectStore';
import { featureSpecHash, runAddressBody, runPrefixFor } from './keys';
import { planShards } from './plan';
import { parseRunSpec, type RunSpecInput, type SelfScoreSpec, SpecError } from './runSpec';
import type { Plan } from './types';

/**
 * Resolves a spec against the store: checkpoints (hashes verified), data sets, shards, and the
 * content address of the run. Every problem is a SpecError naming the field.
 */
export async function buildPlan(
  store: ObjectStore,
  input: RunSpecInput,
  loadModel: (key: string) => Promise<tfl.LayersModel>,
): Promise<Plan> {
  const spec = parseRunSpec(input);
  let manifest: Awaited<ReturnType<typeof readCheckpointManifest>>;
  try {
    manifest = await readCheckpointManifest(store, spec.checkpoints, { verifyHashes: true });
  } catch (e) {
    if (e instanceof NotFoundError || !isTransient(e))
      throw new SpecError(`checkpoints: ${(e as Error).message}`);
    throw e;
  }
  const cks = spec.finalModelOnly ? manifest.checkpoints.slice(-1) : manifest.checkpoints;
  const checkpoints = cks.map((c) => ({
    step: c.step,
    learningRate: spec.finalModelOnly ? 1 : c.learningRate,
    key: checkpointPrefix(spec.checkpoints, c),
    hash: c.hash as string,
  }));
  const dataset = async (field: 'train' | 'query'): Promise<PartitionedInfo> => {
    try {
      return await readPartitionedInfo(store, spec[field]);
    } catch (e) {
      if (isTransient(e)) throw e;
      throw new SpecError(`${field}: ${(e as Error).message}`);
    }
  };
  const train = await dataset('train');
  const fullQuery = await dataset('query');
  const query = spec.queryLimit ? limitRows(fullQuery, spec.queryLimit) : fullQuery;
  if (JSON.stringify(train.shape) !== JSON.stringify(query.shape)) {
    throw new SpecError(
      `query: examples have shape [${query.shape}], the training set's are [${train.shape}]`,
    );
  }
  if (train.classes.length !== query.classes.length) {
    throw new SpecError(
      `query: ${query.classes.length} classes, the training set has ${train.classes.length}`,
    );
  }
  const model = await loadModel(checkpoints[checkpoints.length - 1].key);
  const inShape = model.inputs[0].shape.slice(1);
  const size = (s: (number | null)[]) => s.reduce<number>((a, b) => a * (b ?? 1), 1);
  if (size(inShape) !== size(train.shape)) {
    throw new SpecError(
      `train: examples have shape [${train.shape}] but the model takes [${inShape}]`,
    );
  }
  let head: Head;
  try {
    head = modelHead(model);
  } catch (e) {
    throw new SpecError(`checkpoints: ${(e as Error).message}`);
  }
  // A regression head's targets are checked as numbers when featurized; it has no classes.
  if (head.kind !== 'regression' && head.classes !== train.classes.length) {
    throw new SpecError(
      `checkpoints: the model's ${head.kind} head has ${head.classes} classes but the data has ${train.classes.length}`,
    );
  }
  const layerProblem = layersAndSelfScoreProblem(
    model,
    spec.layers,
    spec.selfScore,
    spec.projector,
    train.shape,
  );
  if (layerProblem) throw new SpecError(layerProblem);
  const fsh = featureSpecHash(spec);
  const inputs = { checkpoints, train, query, featureSpecHash: fsh };
  return {
    spec,
    runPrefix: runPrefixFor(spec, inputs),
    address: runAddressBody(spec, inputs),
    checkpoints,
    train: {
      prefix: spec.train,
      rows: train.rows,
      shards: planShards(train.parts, spec.shardSize),
    },
    query: {
      prefix: spec.query,
      rows: query.rows,
      shards: planShards(query.parts, spec.queryBlock),
    },
    featureSpecHash: fsh,
    numClasses: train.classes.length,
    ...learningWarnings(cks, train.classes.length),
  };
}

function limitRows(info: PartitionedInfo, limit: number): PartitionedInfo {
  const parts = [];
  let left = Math.min(limit, info.rows);
  for (const p of info.parts) {
    if (left <= 0) break;
    parts.push({ ...p, rows: Math.min(p.rows, left) });
    left -= p.rows;
  }
  return { ...info, rows: Math.min(limit, info.rows), parts };
}

/**
 * What is wrong with the featurized layers or the influence self-score for this model and
 * projector (its layers; a sketch or K-FAC, which read stored factors), if anything: found at plan
 * time, so a bad spec fails the run at once instead of every featurize or the reduce stage being
 * retried. Returns the message with its field.
 */
export function layersAndSelfScoreProblem(
  model: tfl.LayersModel,
  layers: LayerSelection,
  self: SelfScoreSpec,
  projector: ProjectorSpec,
  /** One example's shape in the data set (the model's unknown dimensions are read from it). */
  exampleShape: number[],
): string | null {
  let plan: ReturnType<typeof planModel>;
  try {
    plan = planModel(model, layers);
  } catch (e) {
    return `layers: ${(e as Error).message}`;
  }
  if (self.kind !== 'influence') return null;
  // K-FAC is already in² + out² numbers per layer: a sketch is for the Gram's (in·out)².
  if (self.sketch && self.curvature === 'kfac') {
    return "selfScore.sketch: sketches the Gram curvature; K-FAC (curvature: kfac) reads the layers' own factors";
  }
  // A sketch and K-FAC read the layers' stored factors; dense random projections store none.
  const onFactors = self.sketch ? 'sketch' : self.curvature === 'kfac' ? 'curvature' : null;
  if (onFactors && projector.kind !== 'none' && projector.kind !== 'kronecker') {
    return `selfScore.${onFactors}: reads the layers' stored factors, which projector ${projector.kind} does not store (use projector none or kronecker)`;
  }
  if (typeof self.layers !== 'string') {
    const featured = plan.steps.filter((s) => s.selected).map((s) => s.layer.name);
    const missing = self.layers.names.filter((n) => !featured.includes(n));
    if (missing.length > 0) {
      return `selfScore.layers: ${missing.map((n) => `"${n}"`).join(', ')} not among the featurized layers (${featured.join(', ')})`;
    }
  }
  return onFactors ? storedAsVectorProblem(model, layers, self, projector, exampleShape) : null;
}

/**
 * Whether a layer the sketch or K-FAC reads is stored as a vector (an Embedding's one-hot
 * inputs, a Conv2D whose positions make its factors larger than its gradient, a Kronecker
 * projection no smaller as factors): one zero example of the data's shape is featurized and the
 * run's own check applied to it, so the message is the one a shard would have failed with.
 */
function storedAsVectorProblem(
  model: tfl.LayersModel,
  layers: LayerSelection,
  self: Extract<SelfScoreSpec, { kind: 'influence' }>,
  projector: ProjectorSpec,
  exampleShape: number[],
): string | null {
  const input = model.inputs[0];
  const dims = input.shape.slice(1).map((d, i) => d ?? exampleShape[i] ?? 1);
  const x = tf.zeros([1, ...dims], input.dtype);
  let f: ExampleFeatures;
  try {
    f = selectLayers(featurize(model, x, [0], { layers, projector, batchSize: 1 }), self.layers);
  } finally {
    x.dispose();
  }
  try {
    if (self.sketch) sketchFeatures(f, self.sketch);
    else storedFactorBlocks(f, 'selfScore.curvature');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
