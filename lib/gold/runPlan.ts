/**
 * The pure part of the further-training gold standard: which runs it needs and what they are
 * called. No tfjs here, so Temporal workflows can plan runs inside their sandbox.
 */

export type Perturbation =
  | { kind: 'none' }
  | { kind: 'remove'; index: number }
  | { kind: 'upweight'; index: number; epsilon: number };

export type PerturbationMode = { kind: 'remove' } | { kind: 'upweight'; epsilon: number };

export interface RunKey {
  seed: number;
  perturbation: Perturbation;
}

/** A stable name for a run, for storage keys and activity ids. */
export function runId(key: RunKey): string {
  const p = key.perturbation;
  const what =
    p.kind === 'none'
      ? 'baseline'
      : p.kind === 'remove'
        ? `remove-${p.index}`
        : `upweight-${p.index}-eps-${p.epsilon}`;
  return `seed-${key.seed}/${what}`;
}

/** Every run the gold standard needs: one baseline per seed, one perturbed run per (seed, example). */
export function planRuns(
  examples: number[],
  seeds: number[],
  mode: PerturbationMode = { kind: 'remove' },
): RunKey[] {
  const runs: RunKey[] = [];
  for (let r = 0; r < countRuns(examples.length, seeds.length); r++) {
    runs.push(runAt(examples, seeds, mode, r));
  }
  return runs;
}

/** Number of runs for m examples and s seeds: each seed's baseline plus m perturbed runs. */
export function countRuns(m: number, s: number): number {
  return s * (m + 1);
}

/** The r-th run of planRuns without building the list (for workflows over millions of runs). */
export function runAt(
  examples: number[],
  seeds: number[],
  mode: PerturbationMode,
  r: number,
): RunKey {
  const per = examples.length + 1;
  if (!Number.isInteger(r) || r < 0 || r >= seeds.length * per) {
    throw new Error(`run ${r} is out of range for ${seeds.length * per} runs`);
  }
  const seed = seeds[Math.floor(r / per)];
  const k = r % per;
  if (k === 0) return { seed, perturbation: { kind: 'none' } };
  const index = examples[k - 1];
  return {
    seed,
    perturbation:
      mode.kind === 'remove'
        ? { kind: 'remove', index }
        : { kind: 'upweight', index, epsilon: mode.epsilon },
  };
}
