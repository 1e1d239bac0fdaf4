/**
 * Out-of-fold rankings in one process (the benchmark's reference for the audit's out-of-fold
 * score): train one model per fold on the other folds (the benchmark's model, trainer and
 * checkpoints), then score each held-out row by its fold model only, so no row is ranked by a
 * model that has fitted its (possibly flipped) label:
 * - selfConfidence: 1 − p(given label) at the fold model's final weights (cleanlab's ranking);
 * - selfConfidenceCheckpoints: the same averaged over the fold model's checkpoints (less swayed
 *   by a fold model that has started to fit its own flipped labels);
 * - selfInfluence: the influence self-score summed over the fold model's checkpoints on the
 *   last layer, Σ_c η_c g_cᵀ(F_c+λI)⁻¹g_c, the curvature F_c from the fold's held-out rows;
 * - rankAverage: the mean of the two normalised rankings (lib/methods/rankAverage).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExampleFeatures } from '../features';
import { influenceSelfOverCheckpoints } from '../methods/influence/influenceSelf';
import { rankAverage } from '../methods/rankAverage';
import { featurizeDataset } from '../pipeline/featurizeDataset';
import { writeWeights } from '../train/trainer';
import {
  type MislabelBenchmarkInput,
  tensorDataset,
  trainMislabelModel,
} from './mislabelBenchmark';
import { featurizeBatch } from './selfScorers';

export interface OutOfFoldScores {
  selfConfidence: Float64Array;
  selfConfidenceCheckpoints: Float64Array;
  selfInfluence: Float64Array;
  rankAverage: Float64Array;
  /** Per fold: accuracy of its model on its held-out rows' given labels. */
  heldoutAccuracy: number[];
  /** Seconds: training every fold model, and featurizing + scoring the held-out rows. */
  trainSeconds: number;
  scoreSeconds: number;
}

function rowsOf(host: Float32Array, per: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * per);
  idx.forEach((r, j) => {
    out.set(host.subarray(r * per, (r + 1) * per), j * per);
  });
  return out;
}

export async function outOfFoldScores(
  input: MislabelBenchmarkInput,
  folds: Int32Array,
  k: number,
): Promise<OutOfFoldScores> {
  const log = input.log ?? (() => {});
  const n = input.x.shape[0];
  const shape = input.x.shape;
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const host = input.x.dataSync() as Float32Array;
  const selfConfidence = new Float64Array(n);
  const selfConfidenceCheckpoints = new Float64Array(n);
  const selfInfluence = new Float64Array(n);
  const heldoutAccuracy: number[] = [];
  let trainSeconds = 0;
  let scoreSeconds = 0;
  for (let f = 0; f < k; f++) {
    const fit: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (folds[i] === f ? held : fit).push(i);
    const fx = tf.tensor(rowsOf(host, per, fit), [fit.length, ...shape.slice(1)]);
    const hx = tf.tensor(rowsOf(host, per, held), [held.length, ...shape.slice(1)]);
    const hLabels = Int32Array.from(held, (i) => input.labels[i]);
    try {
      log(`  fold ${f + 1}/${k}: training on ${fit.length} rows, scoring ${held.length}`);
      const trained = await trainMislabelModel({
        ...input,
        log: undefined,
        x: fx,
        labels: Int32Array.from(fit, (i) => input.labels[i]),
        flipped: new Uint8Array(fit.length),
        test: { x: hx, labels: hLabels },
      });
      trainSeconds += trained.trainSeconds;
      heldoutAccuracy.push(trained.testAccuracy as number);
      const t0 = performance.now();
      const heldRows = tensorDataset(`${input.dataset} fold ${f}`, hx, hLabels);
      const feats: ExampleFeatures[] = [];
      for (const c of trained.saved) {
        writeWeights(trained.model, c.weights);
        feats.push(
          featurizeDataset(trained.model, heldRows, 0, heldRows.rows, {
            layers: 'last',
            projector: input.projector,
            batchSize: featurizeBatch(input),
          }),
        );
      }
      const infl = influenceSelfOverCheckpoints(
        feats,
        trained.saved.map(({ step, learningRate }) => ({ step, learningRate })),
        { relativeDamping: 0.01 },
      );
      const last = feats[feats.length - 1];
      held.forEach((i, j) => {
        // 1 − e^{−loss} without rounding small losses to 0 (ties would blur the ranking).
        selfConfidence[i] = -Math.expm1(-last.loss[j]);
        selfInfluence[i] = infl[j];
        let sum = 0;
        for (const f of feats) sum -= Math.expm1(-f.loss[j]);
        selfConfidenceCheckpoints[i] = sum / feats.length;
      });
      scoreSeconds += (performance.now() - t0) / 1000;
      trained.model.dispose();
      log(
        `  fold ${f + 1}/${k}: held-out accuracy ${heldoutAccuracy[f].toFixed(4)}, trained in ${trained.trainSeconds.toFixed(1)} s`,
      );
    } finally {
      tf.dispose([fx, hx]);
    }
  }
  return {
    selfConfidence,
    selfConfidenceCheckpoints,
    selfInfluence,
    rankAverage: rankAverage([selfConfidence, selfInfluence]),
    heldoutAccuracy,
    trainSeconds,
    scoreSeconds,
  };
}
