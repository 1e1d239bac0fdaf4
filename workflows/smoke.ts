import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { smokeActivity } from './definitions';

export interface SmokeInput {
  prefix: string;
  rows: number;
  dim: number;
  seed: number;
}

export interface SmokeResult {
  key: string;
  bytes: number;
  rows: number;
  sum: number;
  sha256: string;
  zeroCopy: boolean;
}

const { writeSmokeVectors, readSmokeVectors } = proxyActivities<Activities>(smokeActivity);

/** Proves the stack end to end: an activity writes Arrow to S3, another reads it back. */
export async function smokeWorkflow(input: SmokeInput): Promise<SmokeResult> {
  const written = await writeSmokeVectors(input);
  const read = await readSmokeVectors(input.prefix);
  return { ...written, ...read };
}
