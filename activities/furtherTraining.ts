import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../lib/data/dataset';
import { readDatasetRef } from '../lib/data/datasetRef';
import {
  type FurtherTrainingSpec,
  furtherTrainingRun,
  goldStandard,
  type RunResult,
} from '../lib/gold/furtherTraining';
import { writeGoldStandard } from '../lib/gold/goldFile';
import { parseGoldJob } from '../lib/gold/goldJobSpec';
import {
  checkGoldInputs,
  datasetTensor,
  type GoldJobSettings,
  toTestFunction,
} from '../lib/gold/runInputs';
import { countRuns, type PerturbationMode, type RunKey, runAt, runId } from '../lib/gold/runPlan';
import { canonicalJson, modelHash } from '../lib/model/modelHash';
import { loadModel } from '../lib/model/storeIO';
import { specAddress } from '../lib/specAddress';
import { readCommitted, readManifest, sha256, Transaction } from '../lib/store/commit';
import { NotFoundError, type ObjectStore } from '../lib/store/objectStore';
import { readWeights } from '../lib/train/trainer';
import { loadTrainState, saveTrainState, type TrainState } from '../lib/train/trainState';

/** Where a job's inputs are and how to train; everything a run needs besides its RunKey. */
export interface GoldJob extends GoldJobSettings {
  /** A TF.js LayersModel (model.json + weights.bin) saved with lib/model/storeIO. */
  modelPrefix: string;
  /** Data sets: a partitioned data set prefix (tda import) or one Arrow file (lib/data/datasetRef). */
  trainKey: string;
  queryKey: string;
  /** Runs go under <outputPrefix>/runs/<runId>, the gold standard under <outputPrefix>/gold. */
  outputPrefix: string;
}

export interface GoldPlan {
  /** Training-example indices to perturb; all rows when absent. */
  examples?: number[];
  seeds: number[];
  mode: PerturbationMode;
}

export interface PrepareResult {
  trainRows: number;
  queryRows: number;
  runs: number;
  /** Set when the gold standard is already committed: nothing left to do. */
  completed?: GoldSummary;
}

export interface RunTaskResult {
  runId: string;
  prefix: string;
  /** Steps already done by an earlier attempt (0 when this attempt started fresh). */
  resumedFrom: number;
  /** True when the run was already committed and nothing was trained. */
  cached: boolean;
}

/** What a run commits as result.json. */
export interface RunRecord extends RunResult {
  runId: string;
  fingerprint: string;
  resumedFrom: number;
  /** Wall time of the attempt that finished the run. */
  seconds: number;
}

export interface GoldSummary {
  goldPrefix: string;
  manifestKey: string;
  files: Record<string, string>;
  steps: number[];
  examples: number;
  queries: number;
  seeds: number[];
  runs: number;
  /** The job's content address (goldAddress): a stored gold standard must match the request. */
  address: string;
}

export const goldPrefixOf = (job: Pick<GoldJob, 'outputPrefix'>) => `${job.outputPrefix}/gold`;
export const runPrefixOf = (job: Pick<GoldJob, 'outputPrefix'>, key: RunKey) =>
  `${job.outputPrefix}/runs/${runId(key)}`;

/**
 * The job's content address: its whole parsed spec less the scheduling fields (lib/specAddress),
 * with the model's and both data sets' content hashes. Every run and the gold standard record it.
 */
export function goldAddress(
  job: GoldJob,
  plan: GoldPlan,
  inputs: { model: string; train: string; query: string },
): string {
  return specAddress('gold', { ...job, ...plan }, inputs);
}

/** Names what a run computes, so saved states and committed results are never mixed across jobs. */
export function runFingerprint(address: string, key: RunKey): string {
  return sha256(canonicalJson({ job: address, run: key })).slice(0, 16);
}

export const stateKeyOf = (job: GoldJob, key: RunKey, address: string) =>
  `${runPrefixOf(job, key)}/state-${runFingerprint(address, key)}.bin`;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Store and network failures are worth retrying; anything else about the input is not. */
function isTransient(e: unknown): boolean {
  if (e instanceof NotFoundError) return false;
  const err = e as { $metadata?: unknown; code?: string; name?: string };
  return (
    err?.$metadata !== undefined ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(err?.code ?? '') ||
    err?.name === 'TimeoutError'
  );
}

/** Runs `f`, turning a non-transient failure into a non-retryable one naming what failed. */
async function asInputError<T>(what: string, f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ApplicationFailure || isTransient(e)) throw e;
    throw ApplicationFailure.nonRetryable(`${what}: ${message(e)}`, 'InputError');
  }
}

let backendReady: Promise<unknown> | undefined;
/** Training runs on the cpu backend unless the process chose one already (its results are exact). */
function ensureBackend(): Promise<unknown> {
  backendReady ??= tf.getBackend() ? tf.ready() : tf.setBackend('cpu');
  return backendReady;
}

interface Loaded {
  model: LayersModel;
  train: Dataset;
  queries: Dataset;
  /** goldAddress of the job with these inputs. */
  address: string;
}

async function loadInputs(store: ObjectStore, job: GoldJob, plan: GoldPlan): Promise<Loaded> {
  await ensureBackend();
  await asInputError('invalid further-training input', () => parseGoldJob({ ...job, ...plan }));
  const model = await asInputError(`model at "${job.modelPrefix}"`, () =>
    loadModel(store, job.modelPrefix),
  );
  try {
    const read = (ref: string, what: string) =>
      asInputError(what, () => readDatasetRef(store, ref, what));
    const train = await read(job.trainKey, `training data "${job.trainKey}"`);
    const queries = await read(job.queryKey, `query data "${job.queryKey}"`);
    await asInputError('invalid further-training input', () =>
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

/** A committed gold standard is served only for the job (and inputs) it was computed for. */
function checkGoldAddress(prefix: string, stored: string | undefined, address: string): void {
  if (stored !== address) {
    throw ApplicationFailure.nonRetryable(
      `"${prefix}" holds a gold standard of a different job or different inputs (address ${stored ?? 'none'}, this job's ${address}); use another outputPrefix`,
      'InputError',
    );
  }
}

function allRows(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function createFurtherTrainingActivities(store: ObjectStore) {
  return {
    /** Validates a job once before any run starts; says whether it is already committed. */
    async prepareGold(input: { job: GoldJob; plan: GoldPlan }): Promise<PrepareResult> {
      const { model, train, queries, address } = await loadInputs(store, input.job, input.plan);
      model.dispose();
      const m = input.plan.examples?.length ?? train.rows;
      const manifest = await readManifest<GoldSummary>(store, goldPrefixOf(input.job));
      if (manifest) checkGoldAddress(goldPrefixOf(input.job), manifest.meta.address, address);
      return {
        trainRows: train.rows,
        queryRows: queries.rows,
        runs: countRuns(m, input.plan.seeds.length),
        ...(manifest ? { completed: manifest.meta } : {}),
      };
    },

    /**
     * One run of the gold standard, trained to max T. Saves its state every checkpointEvery
     * steps; a retried attempt resumes from the saved state and records where it resumed.
     */
    async furtherTrainingRun(input: {
      job: GoldJob;
      plan: GoldPlan;
      run: RunKey;
    }): Promise<RunTaskResult> {
      const { job, run } = input;
      const id = runId(run);
      const prefix = runPrefixOf(job, run);
      const started = Date.now();
      const { model, train, queries, address } = await loadInputs(store, job, input.plan);
      const fingerprint = runFingerprint(address, run);
      const done = await readManifest<{ fingerprint: string; resumedFrom: number }>(store, prefix);
      if (done) {
        model.dispose();
        if (done.meta.fingerprint !== fingerprint) {
          throw ApplicationFailure.nonRetryable(
            `"${prefix}" already holds a run of a different job (fingerprint ${done.meta.fingerprint}, this one ${fingerprint}); use another outputPrefix`,
            'InputError',
          );
        }
        return { runId: id, prefix, resumedFrom: done.meta.resumedFrom, cached: true };
      }
      const stateKey = stateKeyOf(job, run, address);
      const x = datasetTensor(model, train, 'training data');
      const qx = datasetTensor(model, queries, 'query data');
      try {
        const saved: TrainState | undefined = await asInputError(`saved state "${stateKey}"`, () =>
          loadTrainState(store, stateKey),
        );
        const spec: FurtherTrainingSpec = {
          training: job.training,
          steps: job.steps,
          testFunction: toTestFunction(job.testFunction),
        };
        let saveFailure: unknown;
        let result: RunResult;
        try {
          result = await furtherTrainingRun(
            model,
            readWeights(model),
            { x, labels: train.labels },
            { x: qx, labels: queries.labels },
            spec,
            run,
            {
              resumeFrom: saved,
              checkpointEvery: job.checkpointEvery,
              onCheckpoint: async (state) => {
                try {
                  await saveTrainState(store, stateKey, state);
                } catch (e) {
                  saveFailure = e;
                  throw e;
                }
              },
              onStep: (info) => heartbeat({ step: info.step, totalSteps: info.totalSteps }),
            },
          );
        } catch (e) {
          // A failed save is the store's problem (retry); a failed step is the input's (don't).
          if (e === saveFailure) throw e;
          throw ApplicationFailure.nonRetryable(`run ${id}: ${message(e)}`, 'InputError');
        }
        const resumedFrom = saved?.step ?? 0;
        const record: RunRecord = {
          ...result,
          runId: id,
          fingerprint,
          resumedFrom,
          seconds: (Date.now() - started) / 1000,
        };
        const tx = new Transaction(store, prefix);
        await tx.put('result.json', JSON.stringify(record));
        const manifest = await tx.commit({ fingerprint, resumedFrom, runId: id });
        // The committed result supersedes the saved state.
        await store.delete(stateKey).catch(() => undefined);
        return { runId: id, prefix, resumedFrom: manifest.meta.resumedFrom, cached: false };
      } finally {
        tf.dispose([x, qx]);
        model.dispose();
      }
    },

    /** Pairs every run with its seed's baseline, averages over seeds, commits the gold standard. */
    async goldReduce(input: {
      job: GoldJob;
      plan: GoldPlan;
      trainRows: number;
    }): Promise<GoldSummary> {
      const { job, plan } = input;
      const goldPrefix = goldPrefixOf(job);
      const loaded = await loadInputs(store, job, plan);
      loaded.model.dispose();
      const { address } = loaded;
      const existing = await readManifest<GoldSummary>(store, goldPrefix);
      if (existing) {
        checkGoldAddress(goldPrefix, existing.meta.address, address);
        return existing.meta;
      }
      const examples = plan.examples ?? allRows(input.trainRows);
      const total = countRuns(examples.length, plan.seeds.length);
      const baselines: RunResult[] = [];
      const perturbed: RunResult[] = [];
      for (let r = 0; r < total; r++) {
        const key = runAt(examples, plan.seeds, plan.mode, r);
        const bytes = await readCommitted(store, runPrefixOf(job, key), 'result.json');
        const rec = JSON.parse(new TextDecoder().decode(bytes)) as RunRecord;
        if (rec.fingerprint !== runFingerprint(address, key)) {
          throw ApplicationFailure.nonRetryable(
            `run ${runId(key)} under "${job.outputPrefix}" was computed for a different job`,
            'InputError',
          );
        }
        (key.perturbation.kind === 'none' ? baselines : perturbed).push(rec);
        if (r % 100 === 0) heartbeat({ read: r });
      }
      const gold = await asInputError('gold standard', () => goldStandard(baselines, perturbed));
      const tx = new Transaction(store, goldPrefix);
      const arrow = await tx.put(
        'gold.arrow',
        writeGoldStandard(gold, { mode: JSON.stringify(plan.mode) }),
      );
      const perStep = gold.steps.map((step, t) => {
        let abs = 0;
        let se = 0;
        for (let i = 0; i < gold.score[t].length; i++) {
          abs += Math.abs(gold.score[t][i]);
          se += gold.stderr[t][i];
        }
        const n = gold.score[t].length;
        return { step, meanAbsScore: abs / n, meanStderr: se / n };
      });
      const summaryJson = await tx.put(
        'summary.json',
        JSON.stringify(
          {
            job,
            address,
            mode: plan.mode,
            steps: gold.steps,
            examples: gold.examples,
            queries: gold.queries,
            seeds: gold.seeds,
            runs: total,
            perStep,
          },
          null,
          1,
        ),
      );
      const summary: GoldSummary = {
        goldPrefix,
        manifestKey: `${goldPrefix}/MANIFEST.json`,
        files: { 'gold.arrow': arrow.key, 'summary.json': summaryJson.key },
        steps: gold.steps,
        examples: gold.examples.length,
        queries: gold.queries,
        seeds: gold.seeds,
        runs: total,
        address,
      };
      return (await tx.commit(summary)).meta;
    },
  };
}

export type FurtherTrainingActivities = ReturnType<typeof createFurtherTrainingActivities>;
