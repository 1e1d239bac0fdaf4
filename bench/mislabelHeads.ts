/**
 * bench:mislabel's pass for the binary and regression heads (lib/eval/headNoiseBenchmark.ts):
 * scikit-learn's breast cancer table with a single sigmoid unit and 10% of its labels flipped,
 * and its diabetes table (442 patients, disease progression a year on) with a single linear unit
 * and 10% of its targets moved by 2σ to 4σ (corruptTargets). Features and targets standardised.
 * MISLABEL_EPOCHS_HEADS (default 40).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { importCsv, sklearnDataDir } from '../lib/data/importCsv';
import { corruptTargets, flipLabels } from '../lib/data/labelNoise';
import { type HeadNoiseReport, headNoiseBenchmark } from '../lib/eval/headNoiseBenchmark';

const NOISE = 0.1;

function numbers(file: string): number[][] {
  const text = gunzipSync(readFileSync(join(sklearnDataDir(), file))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) =>
      l
        .trim()
        .split(/[\s,]+/)
        .map(Number),
    );
}

/** Columns to mean 0, standard deviation 1 (population), row-major. */
function standardised(rows: number[][]): Float32Array {
  const n = rows.length;
  const d = rows[0].length;
  const out = new Float32Array(n * d);
  for (let j = 0; j < d; j++) {
    const mean = rows.reduce((s, r) => s + r[j], 0) / n;
    const std = Math.sqrt(rows.reduce((s, r) => s + (r[j] - mean) ** 2, 0) / n) || 1;
    for (let i = 0; i < n; i++) out[i * d + j] = (rows[i][j] - mean) / std;
  }
  return out;
}

export function mislabelHeads(log: (line: string) => void, epochs: number): HeadNoiseReport[] {
  const { dataset: cancer } = importCsv(join(sklearnDataDir(), 'breast_cancer.csv'), {
    name: 'breast_cancer',
    standardize: true,
  });
  const flipped = flipLabels(cancer, NOISE, 61);
  const binary = headNoiseBenchmark({
    dataset: 'breast_cancer',
    head: 'binary',
    x: flipped.x as Float32Array,
    features: cancer.shape[0],
    targets: Float32Array.from(flipped.labels),
    corrupted: flipped.flipped as Uint8Array,
    hidden: 32,
    epochs,
    checkpointEvery: Math.max(1, Math.round(epochs / 10)),
    learningRate: 0.05,
    batchSize: 32,
    seed: 62,
    log,
  });

  const x = numbers('diabetes_data_raw.csv.gz');
  const y = numbers('diabetes_target.csv.gz').map((r) => r[0]);
  const { targets, corrupted } = corruptTargets(y, NOISE, 63);
  const regression = headNoiseBenchmark({
    dataset: 'diabetes',
    head: 'regression',
    x: standardised(x),
    features: x[0].length,
    targets: standardised(Array.from(targets, (t) => [t])),
    corrupted,
    hidden: 32,
    epochs,
    checkpointEvery: Math.max(1, Math.round(epochs / 10)),
    learningRate: 0.02,
    batchSize: 32,
    seed: 64,
    log,
  });
  return [binary, regression];
}
