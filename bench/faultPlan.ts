/**
 * When and what bench:chaos breaks: `kills` SIGKILLs of worker processes (random slots, the
 * workflow worker at least once), one Temporal server restart and one S3 outage, in a seeded
 * random order at evenly spaced times over 5%–90% of an expected run length.
 */
import { Rng } from '../lib/data/rng';

export type Fault =
  | { at: number; kind: 'kill'; slot: string }
  | { at: number; kind: 'temporal-restart' }
  | { at: number; kind: 's3-outage'; seconds: number };

export function planFaults(opts: {
  /** Seconds the run is expected to take (the undisturbed run's wall time). */
  seconds: number;
  kills: number;
  slots: string[];
  /** The slot that must be killed at least once. */
  mustKill: string;
  outageSeconds: number;
  seed: number;
}): Fault[] {
  const rng = new Rng(opts.seed);
  const kinds: Fault['kind'][] = [
    ...Array.from({ length: opts.kills }, () => 'kill' as const),
    'temporal-restart',
    's3-outage',
  ];
  rng.shuffle(kinds);
  const targets = Array.from({ length: opts.kills }, () => opts.slots[rng.int(opts.slots.length)]);
  if (opts.kills > 0 && !targets.includes(opts.mustKill)) {
    targets[rng.int(opts.kills)] = opts.mustKill;
  }
  let k = 0;
  return kinds.map((kind, i) => {
    const at = opts.seconds * (0.05 + (0.85 * (i + 0.5)) / kinds.length);
    if (kind === 'kill') return { at, kind, slot: targets[k++] };
    if (kind === 's3-outage') return { at, kind, seconds: opts.outageSeconds };
    return { at, kind };
  });
}
