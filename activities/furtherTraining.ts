import { heartbeat } from '@temporalio/activity';
import * as tf from '@tensorflow/tfjs-core';
import { errorMessage } from '../lib/failures';
import {
  type FurtherTrainingSpec,
  furtherTrainingRun,
  goldPerStep,
  goldStandard,
  type RunResult,
} from '../lib/gold/furtherTraining';
import { writeGoldStandard } from '../lib/gold/goldFile';
import {
  type GoldJob,
  type GoldPlan,
  type GoldSummary,
  goldPrefixOf,
  type RunRecord,
  runFingerprint,
  runPrefixOf,
  stateKeyOf,
} from '../lib/gold/goldJob';
import { loadGoldInputs } from '../lib/gold/loadGoldInputs';
import { datasetTensor, toTestFunction } from '../lib/gold/runInputs';
import { countRuns, type RunKey, runAt, runId } from '../lib/gold/runPlan';
import { readCommitted, readManifest, Transaction } from '../lib/store/commit';
import type { ObjectStore } from '../lib/store/objectStore';
import { readWeights } from '../lib/train/trainer';
import { loadTrainState, saveTrainState, type TrainState } from '../lib/train/trainState';
import { classifyFailures, inputFailure } from './failures';

/**
 * Thin Temporal adapters over lib/gold: validate a job, train one run (checkpointing and
 * heartbeating, resuming after a crash), and reduce the runs to the committed gold standard.
 */
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

const loadInputs = (store: ObjectStore, job: GoldJob, plan: GoldPlan) =>
  classifyFailures(() => loadGoldInputs(store, job, plan));

/** A committed gold standard is served only for the job (and inputs) it was computed for. */
function checkGoldAddress(prefix: string, stored: string | undefined, address: string): void {
  if (stored !== address) {
    throw inputFailure(
      `"${prefix}" holds a gold standard of a different job or different inputs (address ${stored ?? 'none'}, this job's ${address}); use another outputPrefix`,
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
          throw inputFailure(
            `"${prefix}" already holds a run of a different job (fingerprint ${done.meta.fingerprint}, this one ${fingerprint}); use another outputPrefix`,
          );
        }
        return { runId: id, prefix, resumedFrom: done.meta.resumedFrom, cached: true };
      }
      const stateKey = stateKeyOf(job, run, address);
      const x = datasetTensor(model, train, 'training data');
      const qx = datasetTensor(model, queries, 'query data');
      try {
        const saved: TrainState | undefined = await classifyFailures(
          () => loadTrainState(store, stateKey),
          `saved state "${stateKey}"`,
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
          throw inputFailure(`run ${id}: ${errorMessage(e)}`);
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
          throw inputFailure(
            `run ${runId(key)} under "${job.outputPrefix}" was computed for a different job`,
          );
        }
        (key.perturbation.kind === 'none' ? baselines : perturbed).push(rec);
        if (r % 100 === 0) heartbeat({ read: r });
      }
      const gold = await classifyFailures(
        () => goldStandard(baselines, perturbed),
        'gold standard',
      );
      const tx = new Transaction(store, goldPrefix);
      const arrow = await tx.put(
        'gold.arrow',
        writeGoldStandard(gold, { mode: JSON.stringify(plan.mode) }),
      );
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
            perStep: goldPerStep(gold),
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
