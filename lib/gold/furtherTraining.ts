import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evaluateTestFunction, type Queries, type TestFunction } from '../train/testFunction';
import { type StepInfo, type TrainData, train, writeWeights } from '../train/trainer';
import type { NamedArray, TrainConfig, TrainState } from '../train/trainState';
import { type Perturbation, type PerturbationMode, planRuns, type RunKey, runId } from './runPlan';

/**
 * The further-training gold standard (final-model-only setting; Wei et al., IBM/fimoda): from the
 * final parameters θ_f, train T more steps once on D (the baseline) and once with example z_i
 * removed (weight 0) or reweighted (weight 1+ε), with the same seed for both, so both runs see
 * the same minibatches (the removed example stays in its batch with weight 0 and the batch loss
 * is still divided by the batch size) and the same dropout masks. The difference of the test
 * function f(z') between the paired runs, averaged over seeds, is the gold sensitivity.
 *
 * Sign (SPEC's convention, positive = proponent, i.e. training on z_i lowers f(z')):
 *   removal:     score = f_removed − f_baseline          (removing a proponent raises f)
 *   upweighting: score = −(f_upweighted − f_baseline)/ε (upweighting a proponent lowers f)
 * Both approximate −∂f/∂w_i · (amount of weight removed), so they agree with Grad-Dot's sign.
 *
 * The unit of work is one run, (seed, perturbation), trained to max T and resumable from a saved
 * state, so each can be a retryable activity; the baseline of a seed is one run shared by all
 * examples.
 */

export type { Perturbation, PerturbationMode, RunKey } from './runPlan';
export { planRuns, runId } from './runPlan';

export interface FurtherTrainingSpec {
  /** Optimizer, learning rate, batch size and normalisation (the seed comes from each run). */
  training: Omit<TrainConfig, 'seed'>;
  /** Step counts T at which f(z') is recorded (0 allowed); each run trains up to max T. */
  steps: number[];
  /** f(z'): the query loss by default. */
  testFunction?: TestFunction;
}

export interface RunResult extends RunKey {
  steps: number[];
  /** values[t][j]: f of query j after steps[t] steps. Plain arrays, so it travels as JSON. */
  values: number[][];
}

export interface RunOptions {
  /** A state saved by an earlier attempt of this same run (its records travel in meta). */
  resumeFrom?: TrainState;
  checkpointEvery?: number;
  onCheckpoint?: (state: TrainState) => void | Promise<void>;
  onStep?: (info: StepInfo) => void | Promise<void>;
}

function perturbedWeights(
  n: number,
  base: Float32Array | undefined,
  p: Perturbation,
): Float32Array {
  const w = base ? Float32Array.from(base) : new Float32Array(n).fill(1);
  if (p.kind === 'none') return w;
  if (!Number.isInteger(p.index) || p.index < 0 || p.index >= n) {
    throw new Error(
      `perturbed example index ${p.index} is out of range for ${n} training examples`,
    );
  }
  if (p.kind === 'remove') w[p.index] = 0;
  else if (p.kind === 'upweight') {
    if (!Number.isFinite(p.epsilon) || p.epsilon === 0) {
      throw new Error(`upweighting needs a finite, non-zero epsilon, got ${p.epsilon}`);
    }
    w[p.index] *= 1 + p.epsilon;
  } else throw new Error(`unknown perturbation kind "${(p as { kind: string }).kind}"`);
  return w;
}

/**
 * One run: sets `model` to θ_f (or to the saved state), trains to max T with the run's seed and
 * perturbation, and records f(z') for every query at each T.
 */
export async function furtherTrainingRun(
  model: LayersModel,
  finalWeights: NamedArray[],
  data: TrainData,
  queries: Queries,
  spec: FurtherTrainingSpec,
  key: RunKey,
  opts: RunOptions = {},
): Promise<RunResult> {
  const steps = [...new Set(spec.steps)].sort((a, b) => a - b);
  if (steps.length === 0) throw new Error('further training needs at least one step count T');
  for (const t of steps) {
    if (!Number.isInteger(t) || t < 0) throw new Error(`step counts T must be integers ≥ 0: ${t}`);
  }
  const n = data.x.shape[0];
  const weights = perturbedWeights(n, data.weights, key.perturbation);
  const config: TrainConfig = { ...spec.training, seed: key.seed };
  const records: Record<string, number[]> = {};
  const id = runId(key);
  if (opts.resumeFrom) {
    const meta = opts.resumeFrom.meta as { run?: string; records?: Record<string, number[]> };
    if (meta?.run !== id) {
      throw new Error(`saved state belongs to run "${meta?.run}", not "${id}"`);
    }
    Object.assign(records, meta.records);
  } else {
    writeWeights(model, finalWeights);
  }
  await train(
    model,
    { x: data.x, labels: data.labels, weights },
    config,
    steps[steps.length - 1],
    {
      evalAt: steps,
      onEval: (t, m) => {
        records[t] = Array.from(evaluateTestFunction(m, queries, spec.testFunction));
      },
      onStep: opts.onStep,
      checkpointEvery: opts.checkpointEvery,
      onCheckpoint: opts.onCheckpoint,
      meta: () => ({ run: id, records }),
    },
    opts.resumeFrom,
  );
  const values = steps.map((t) => {
    const v = records[t];
    if (!v) throw new Error(`run "${id}" has no record at step ${t}`);
    return v;
  });
  return { seed: key.seed, perturbation: key.perturbation, steps, values };
}

export interface SeedAverage {
  mean: Float64Array;
  /** Standard error of the mean across seeds (sample sd / √S); NaN with one seed. */
  stderr: Float64Array;
  count: number;
}

/** Elementwise mean and standard error over per-seed samples of equal length. */
export function averageOverSeeds(samples: ArrayLike<number>[]): SeedAverage {
  const s = samples.length;
  if (s === 0) throw new Error('averageOverSeeds needs at least one sample');
  const len = samples[0].length;
  const mean = new Float64Array(len);
  const stderr = new Float64Array(len);
  for (const x of samples) {
    if (x.length !== len) throw new Error(`samples differ in length: ${x.length} vs ${len}`);
    for (let i = 0; i < len; i++) mean[i] += x[i] / s;
  }
  for (let i = 0; i < len; i++) {
    if (s < 2) {
      stderr[i] = Number.NaN;
      continue;
    }
    let ss = 0;
    for (const x of samples) ss += (x[i] - mean[i]) ** 2;
    stderr[i] = Math.sqrt(ss / (s - 1) / s);
  }
  return { mean, stderr, count: s };
}

export interface GoldStandard {
  steps: number[];
  /** Training-example indices, the columns of each score matrix. */
  examples: number[];
  queries: number;
  seeds: number[];
  /** score[t]: queries × examples, row-major; positive = proponent. */
  score: Float64Array[];
  stderr: Float64Array[];
}

/**
 * Pairs each perturbed run with its seed's baseline, turns the difference into a signed score
 * (see the sign convention above) and averages over seeds. Every example needs a run for every
 * baseline seed.
 */
export function goldStandard(baselines: RunResult[], perturbed: RunResult[]): GoldStandard {
  if (baselines.length === 0) throw new Error('gold standard needs at least one baseline run');
  const bySeed = new Map<number, RunResult>();
  for (const b of baselines) {
    if (b.perturbation.kind !== 'none') throw new Error(`run ${runId(b)} is not a baseline`);
    if (bySeed.has(b.seed)) throw new Error(`two baselines for seed ${b.seed}`);
    bySeed.set(b.seed, b);
  }
  const seeds = [...bySeed.keys()].sort((a, b) => a - b);
  const ref = bySeed.get(seeds[0])!;
  const steps = ref.steps;
  const q = ref.values[0].length;
  for (const r of [...baselines, ...perturbed]) {
    if (r.steps.join() !== steps.join()) {
      throw new Error(`run ${runId(r)} recorded steps [${r.steps}], expected [${steps}]`);
    }
    if (r.values.some((v) => v.length !== q))
      throw new Error(`run ${runId(r)} has ${r.values[0].length} queries, expected ${q}`);
  }
  const kinds = new Set(perturbed.map((r) => r.perturbation.kind));
  if (kinds.has('none')) throw new Error('a baseline run was passed as a perturbed run');
  if (kinds.size > 1)
    throw new Error('cannot mix removal and upweighting runs in one gold standard');
  // example → seed → per-step signed differences
  const diffs = new Map<number, Map<number, Float64Array[]>>();
  for (const r of perturbed) {
    const p = r.perturbation as Exclude<Perturbation, { kind: 'none' }>;
    const base = bySeed.get(r.seed);
    if (!base) throw new Error(`no baseline for seed ${r.seed} (run ${runId(r)})`);
    const scale = p.kind === 'remove' ? 1 : -1 / p.epsilon;
    const perStep = r.values.map((v, t) =>
      Float64Array.from(v, (f, j) => scale * (f - base.values[t][j])),
    );
    let m = diffs.get(p.index);
    if (!m) diffs.set(p.index, (m = new Map()));
    if (m.has(r.seed)) throw new Error(`two runs for example ${p.index}, seed ${r.seed}`);
    m.set(r.seed, perStep);
  }
  const examples = [...diffs.keys()].sort((a, b) => a - b);
  const m = examples.length;
  const score = steps.map(() => new Float64Array(q * m));
  const stderr = steps.map(() => new Float64Array(q * m));
  examples.forEach((ex, col) => {
    const bySeedDiff = diffs.get(ex)!;
    const missing = seeds.filter((s) => !bySeedDiff.has(s));
    if (missing.length) throw new Error(`example ${ex} has no run for seeds ${missing.join(', ')}`);
    steps.forEach((_, t) => {
      const avg = averageOverSeeds(seeds.map((s) => bySeedDiff.get(s)![t]));
      for (let j = 0; j < q; j++) {
        score[t][j * m + col] = avg.mean[j];
        stderr[t][j * m + col] = avg.stderr[j];
      }
    });
  });
  return { steps, examples, queries: q, seeds, score, stderr };
}

/** Per step count T: the mean |score| and mean standard error over every (query, example). */
export function goldPerStep(
  gold: GoldStandard,
): { step: number; meanAbsScore: number; meanStderr: number }[] {
  return gold.steps.map((step, t) => {
    let abs = 0;
    let se = 0;
    for (let i = 0; i < gold.score[t].length; i++) {
      abs += Math.abs(gold.score[t][i]);
      se += gold.stderr[t][i];
    }
    const n = gold.score[t].length;
    return { step, meanAbsScore: abs / n, meanStderr: se / n };
  });
}

/** Runs the whole gold standard in this process (tests, benchmarks, small jobs). */
export async function runGoldStandard(
  model: LayersModel,
  finalWeights: NamedArray[],
  data: TrainData,
  queries: Queries,
  spec: FurtherTrainingSpec,
  examples: number[],
  seeds: number[],
  mode: PerturbationMode = { kind: 'remove' },
  onRun?: (done: number, total: number) => void,
): Promise<GoldStandard> {
  const runs = planRuns(examples, seeds, mode);
  const baselines: RunResult[] = [];
  const perturbed: RunResult[] = [];
  for (const [i, key] of runs.entries()) {
    const r = await furtherTrainingRun(model, finalWeights, data, queries, spec, key);
    (key.perturbation.kind === 'none' ? baselines : perturbed).push(r);
    onRun?.(i + 1, runs.length);
  }
  return goldStandard(baselines, perturbed);
}
