import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { CheckpointInfo } from '../features';
import type { ObjectStore } from '../store/objectStore';
import { putJson } from '../store/objectStore';
import { batchesPerEpoch } from './batchOrder';
import { type StepInfo, type TrainData, train } from './trainer';
import { type NamedArray, serializeTrainState, type TrainConfig } from './trainState';

/**
 * Training for `tda train`: some epochs, saving a checkpoint (weights + the learning rate in force
 * over the interval it stands for, as TracIn-CP needs) every `checkpointEvery` steps (default:
 * every epoch) and after the last step.
 */
export interface TrainWithCheckpointsOptions {
  config: TrainConfig;
  epochs: number;
  /** Default: one checkpoint per epoch. */
  checkpointEvery?: number;
  /** Where to write `<prefix>/step-<step>.state` files and `<prefix>/checkpoints.json`. */
  store?: ObjectStore;
  prefix?: string;
  onStep?: (info: StepInfo) => void | Promise<void>;
}

export interface SavedCheckpoint extends CheckpointInfo {
  weights: NamedArray[];
  /** Store key of the serialised training state, when a store was given. */
  key?: string;
}

export interface CheckpointList {
  checkpoints: Array<CheckpointInfo & { key: string }>;
}

export async function trainWithCheckpoints(
  model: LayersModel,
  data: TrainData,
  opts: TrainWithCheckpointsOptions,
): Promise<SavedCheckpoint[]> {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) {
    throw new Error(`epochs must be a positive integer, got ${opts.epochs}`);
  }
  if (opts.store && !opts.prefix) throw new Error('a store needs a prefix to write under');
  const perEpoch = batchesPerEpoch(data.x.shape[0], opts.config.batchSize);
  const steps = perEpoch * opts.epochs;
  const saved: SavedCheckpoint[] = [];
  await train(model, data, opts.config, steps, {
    onStep: opts.onStep,
    checkpointEvery: opts.checkpointEvery ?? perEpoch,
    onCheckpoint: async (state) => {
      const cp: SavedCheckpoint = {
        step: state.step,
        learningRate: opts.config.learningRate,
        weights: state.weights,
      };
      if (opts.store) {
        cp.key = `${opts.prefix}/step-${String(state.step).padStart(8, '0')}.state`;
        await opts.store.put(cp.key, serializeTrainState(state));
      }
      saved.push(cp);
    },
  });
  if (opts.store) {
    const list: CheckpointList = {
      checkpoints: saved.map((c) => ({ step: c.step, learningRate: c.learningRate, key: c.key! })),
    };
    await putJson(opts.store, `${opts.prefix}/checkpoints.json`, list);
  }
  return saved;
}
