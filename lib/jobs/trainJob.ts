import type * as tfl from '@tensorflow/tfjs-layers';
import { readAllParts } from '../data/partitionedDataset';
import { type Architecture, buildModel } from '../model/architectures';
import {
  type CheckpointManifest,
  readCheckpointManifest,
  saveCheckpoint,
} from '../model/checkpoints';
import { inputTensor } from '../pipeline/featurizeDataset';
import type { ObjectStore } from '../store/objectStore';
import { writeWeights } from '../train/trainer';
import type { TrainConfig } from '../train/trainState';
import { trainWithCheckpoints } from '../train/trainWithCheckpoints';

export interface TrainJob {
  /** Partitioned training set prefix. */
  data: string;
  /** Where the checkpoint manifest goes; checkpoints are saved beside it. */
  checkpoints: string;
  name: string;
  architecture: Architecture;
  config: TrainConfig;
  epochs: number;
  /** Checkpoints saved per epoch (the last one at the end of training). */
  checkpointEvery?: number;
}

/**
 * Trains a model on a partitioned data set and saves its checkpoints (LayersModel format, with
 * the learning rate each stands for) under a manifest. A manifest already there is reused.
 */
export async function trainJob(
  store: ObjectStore,
  job: TrainJob,
  log: (msg: string) => void = () => {},
): Promise<CheckpointManifest> {
  if (await store.exists(job.checkpoints)) {
    log(`checkpoints already at ${job.checkpoints}: reusing them`);
    return readCheckpointManifest(store, job.checkpoints);
  }
  const ds = await readAllParts(store, job.data);
  const model: tfl.LayersModel = buildModel(job.architecture, {
    shape: ds.shape,
    classes: ds.classes.length,
    vocabSize: ds.vocabSize,
  });
  const x = inputTensor(model, ds, 0, ds.rows);
  try {
    const t0 = performance.now();
    let last = 0;
    const saved = await trainWithCheckpoints(
      model,
      { x, labels: ds.labels },
      {
        config: job.config,
        epochs: job.epochs,
        checkpointEvery: job.checkpointEvery,
        onStep: ({ step, totalSteps, loss }) => {
          if (performance.now() - last > 2000 || step === totalSteps) {
            last = performance.now();
            log(
              `step ${step}/${totalSteps} loss ${loss.toFixed(4)} (${((last - t0) / 1000).toFixed(1)} s)`,
            );
          }
        },
      },
    );
    let manifest: CheckpointManifest | undefined;
    for (const cp of saved) {
      writeWeights(model, cp.weights);
      manifest = await saveCheckpoint(model, store, job.checkpoints, {
        model: job.name,
        step: cp.step,
        learningRate: cp.learningRate,
      });
    }
    return manifest as CheckpointManifest;
  } finally {
    x.dispose();
    model.dispose();
  }
}
