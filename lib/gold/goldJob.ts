/**
 * A further-training gold job as the workflow passes it around: where its inputs are, which runs
 * it makes, what it commits, and the keys and content addresses under its outputPrefix.
 */
import { canonicalJson } from '../model/modelHash';
import { specAddress } from '../specAddress';
import { sha256 } from '../store/commit';
import type { RunResult } from './furtherTraining';
import type { GoldJobSettings } from './runInputs';
import { type PerturbationMode, type RunKey, runId } from './runPlan';

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
