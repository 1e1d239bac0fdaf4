import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { readDatasetRef } from '../data/datasetRef';
import { inputStep } from '../failures';
import { modelHash } from '../model/modelHash';
import { loadModel } from '../model/storeIO';
import type { ObjectStore } from '../store/objectStore';
import { chosenBackendOrCpu } from '../tf/backend';
import { type GoldJob, type GoldPlan, goldAddress } from './goldJob';
import { parseGoldJob } from './goldJobSpec';
import { checkGoldInputs } from './runInputs';

export interface GoldInputs {
  model: LayersModel;
  train: Dataset;
  queries: Dataset;
  /** goldAddress of the job with these inputs. */
  address: string;
}

/**
 * A gold job's model and data sets, checked against the job (lib/gold/runInputs.ts) and with the
 * job's content address. A bad job or input is an InputError naming it; store and network
 * faults stay transient. The caller disposes of the model.
 */
export async function loadGoldInputs(
  store: ObjectStore,
  job: GoldJob,
  plan: GoldPlan,
): Promise<GoldInputs> {
  await chosenBackendOrCpu();
  await inputStep('invalid further-training input', () => parseGoldJob({ ...job, ...plan }));
  const model = await inputStep(`model at "${job.modelPrefix}"`, () =>
    loadModel(store, job.modelPrefix),
  );
  try {
    const read = (ref: string, what: string) =>
      inputStep(what, () => readDatasetRef(store, ref, what));
    const train = await read(job.trainKey, `training data "${job.trainKey}"`);
    const queries = await read(job.queryKey, `query data "${job.queryKey}"`);
    await inputStep('invalid further-training input', () =>
      checkGoldInputs(model, train.dataset, queries.dataset, job, plan),
    );
    const address = goldAddress(job, plan, {
      model: await modelHash(model),
      train: train.hash,
      query: queries.hash,
    });
    return { model, train: train.dataset, queries: queries.dataset, address };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
