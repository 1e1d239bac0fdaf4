/**
 * The confident-learning baseline beside bench:mislabel's rankings: cleanlab (PyPI) over k-fold
 * out-of-fold probabilities of scikit-learn's HistGradientBoostingClassifier and of an MLP with
 * tda's hidden layers (bench/py/confident_learning.py), on the same rows, noisy labels and folds
 * tda sees. Data goes to Python as raw little-endian files in a temporary directory; the scores
 * come back the same way and are scored here by the same function as tda's rankings.
 * bench/py/setup.sh makes the virtual environment (.stack/py/bench-venv) on first use.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FRACTIONS } from '../lib/eval/mislabel';
import { type MislabelMethodResult, toResult } from '../lib/eval/mislabelBenchmark';

export interface ConfidentLearningInput {
  /** rows × dims features, row-major: what tda's model sees (or a bag of words for text). */
  x: Float32Array;
  rows: number;
  dims: number;
  classes: number;
  labels: Int32Array;
  /** Row → fold in [0, k) (lib/data/split kFolds): the same split for every method. */
  folds: Int32Array;
  k: number;
  mlpHidden: number[];
  mlpEpochs: number;
  flipped: ArrayLike<number | boolean>;
  /** Subset of 'hgb', 'mlp' (default both). */
  methods?: string[];
  log?: (line: string) => void;
  onScores?: (method: string, scores: Float64Array) => void;
}

export interface ConfidentLearningResult extends MislabelMethodResult {
  /** Accuracy of the out-of-fold predictions on the given (noisy) labels. */
  heldout_accuracy: number;
}

const here = fileURLToPath(new URL('.', import.meta.url));

let python: string | undefined;
/** The venv's python, made by bench/py/setup.sh (idempotent) on first use. */
function benchPython(): string {
  if (python) return python;
  const out = execFileSync('bash', [join(here, 'py/setup.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  python = out.trim().split('\n').pop() as string;
  return python;
}

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Results keyed `cleanlab:hgb`, `cleanlab:mlp` (seconds include fitting every fold). */
export function confidentLearning(
  input: ConfidentLearningInput,
): Record<string, ConfidentLearningResult> {
  const { rows, dims } = input;
  if (input.x.length !== rows * dims || input.labels.length !== rows || input.folds.length !== rows)
    throw new Error(
      `confidentLearning: ${rows} rows × ${dims} dims but ${input.x.length} features, ${input.labels.length} labels, ${input.folds.length} folds`,
    );
  const py = benchPython();
  const dir = mkdtempSync(join(tmpdir(), 'tda-cleanlab-'));
  try {
    writeFileSync(
      join(dir, 'meta.json'),
      JSON.stringify({
        rows,
        dims,
        classes: input.classes,
        folds: input.k,
        mlp_hidden: input.mlpHidden,
        mlp_epochs: input.mlpEpochs,
        seed: 0,
        ...(input.methods ? { methods: input.methods } : {}),
      }),
    );
    writeFileSync(join(dir, 'x.f32'), bytes(input.x));
    writeFileSync(join(dir, 'labels.i32'), bytes(input.labels));
    writeFileSync(join(dir, 'folds.i32'), bytes(input.folds));
    const out = execFileSync(py, [join(here, 'py/confident_learning.py'), dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      // One thread unless told otherwise, like tda's in-process rankings beside it; on a shared
      // 2-core machine, OpenMP's two threads waiting on each other made 178 rows take a minute.
      env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1' },
    });
    for (const line of out.trim().split('\n')) if (line) input.log?.(line);
    const meta = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<
      string,
      { seconds: number; heldout_accuracy: number }
    >;
    const flipped = Array.from(input.flipped, Boolean);
    const results: Record<string, ConfidentLearningResult> = {};
    for (const [name, m] of Object.entries(meta)) {
      const raw = readFileSync(join(dir, `${name}.f64`));
      const scores = new Float64Array(
        raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength),
      );
      if (scores.length !== rows)
        throw new Error(`cleanlab ${name}: ${scores.length} scores for ${rows} rows`);
      input.onScores?.(`cleanlab:${name}`, scores);
      const r = toResult(scores, flipped, DEFAULT_FRACTIONS, m.seconds);
      results[`cleanlab:${name}`] = { ...r, heldout_accuracy: m.heldout_accuracy };
      input.log?.(
        `  ${`cleanlab:${name}`.padEnd(20)} found@5% ${r.found_at_5pct.toFixed(3)}  @10% ${r.found_at_10pct.toFixed(3)}  ` +
          `@20% ${r.found_at_20pct.toFixed(3)}  @30% ${r.found_at_30pct.toFixed(3)}  AUC ${r.auc.toFixed(4)}  ${m.seconds.toFixed(1)} s`,
      );
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A bag of words per row (token counts / sequence length, padding dropped): text for sklearn. */
export function bagOfWords(
  tokens: Int32Array,
  rows: number,
  seqLen: number,
  vocab: number,
): Float32Array {
  const x = new Float32Array(rows * (vocab - 1));
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < seqLen; t++) {
      const id = tokens[i * seqLen + t];
      if (id > 0) x[i * (vocab - 1) + id - 1] += 1 / seqLen;
    }
  }
  return x;
}
