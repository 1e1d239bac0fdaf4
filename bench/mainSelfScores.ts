/**
 * bench:main-self — which in-sample influence self-score the main job ranks its training set by:
 * on `npm start`'s model and training set (the store's, with the flipped labels it records), the
 * last layer's exact factors at each checkpoint are featurized once in this process, then each
 * candidate self-score (a run spec's `selfScore`) is computed by the pipeline's own two streaming
 * passes over 10,000-row parts (lib/pipeline/influenceSelfPasses.ts, the reference the pipeline's
 * self-scores are tested against). For each: the flipped labels found in the top 10% and 20%, the
 * ROC AUC and the seconds of its two passes. The candidates: the exact Gram (1290 × 1290 here),
 * K-FAC, and the Gram of Kronecker sketches of the factors (k1 ∈ {16, 32, 64}, three seeds), all at
 * the main job's damping (no damping is tuned on these labels).
 *
 *   npm run bench:main-self [-- --skip-exact]
 *
 * Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { readAllParts } from '../lib/data/partitionedDataset';
import { mislabelReport } from '../lib/eval/mislabel';
import type { ExampleFeatures } from '../lib/features';
import { MAIN_JOB, mainJobSpec, prepareMainJob } from '../lib/jobs/mainJob';
import {
  checkpointInfos,
  checkpointPrefix,
  readCheckpointManifest,
} from '../lib/model/checkpoints';
import { loadModel } from '../lib/model/storeIO';
import { featurizeDataset } from '../lib/pipeline/featurizeDataset';
import { influenceSelfPasses } from '../lib/pipeline/influenceSelfPasses';
import { parseRunSpec, type SelfScoreSpec, selfScoreName } from '../lib/pipeline/runSpec';
import { canonical } from '../lib/specAddress';
import { S3Store } from '../lib/store/s3Store';
import { initBackend } from '../lib/tf/backend';
import { ensureStack } from '../test/support/stack';

const { values } = parseArgs({
  options: {
    /** Leave out the exact Gram (about ten times the others' time). */
    'skip-exact': { type: 'boolean', default: false },
  },
});
const log = (m: string) => console.log(`[main-self] ${m}`);
const PART_ROWS = 10_000;

async function main(): Promise<void> {
  ensureStack();
  const config = loadConfig();
  const backend = await initBackend(config.backend);
  const s3 = new S3Store(config.s3);
  await prepareMainJob(s3, log);
  const spec = parseRunSpec(mainJobSpec());
  const self = spec.selfScore;
  if (self.kind !== 'influence') throw new Error('the main job has no influence self-score');
  const train = await readAllParts(s3, MAIN_JOB.train);
  if (!train.flipped) throw new Error(`${MAIN_JOB.train} records no flipped labels`);
  const flipped = Array.from(train.flipped, (f) => f === 1);
  const manifest = await readCheckpointManifest(s3, MAIN_JOB.checkpoints);
  const checkpoints = checkpointInfos(manifest);

  // parts[p][c]: rows [p·PART_ROWS, …) of the last layer's exact factors at checkpoint c.
  const parts: ExampleFeatures[][] = [];
  for (let s = 0; s < train.rows; s += PART_ROWS) parts.push([]);
  for (const c of manifest.checkpoints) {
    const model = await loadModel(s3, checkpointPrefix(MAIN_JOB.checkpoints, c));
    parts.forEach((p, i) => {
      const end = Math.min(train.rows, (i + 1) * PART_ROWS);
      p.push(
        featurizeDataset(model, train, i * PART_ROWS, end, {
          layers: self.layers === 'last' ? 'last' : self.layers,
          projector: { kind: 'none' },
          batchSize: 1000,
        }),
      );
    });
    model.dispose();
  }
  log(`featurized ${train.rows} rows × ${checkpoints.length} checkpoints (${backend})`);

  const base = { ...self, sketch: undefined };
  const candidates: SelfScoreSpec[] = [
    ...(values['skip-exact'] ? [] : [{ ...base, curvature: 'gram' as const }]),
    { ...base, curvature: 'kfac' },
    ...[16, 32, 64].flatMap((k1) =>
      [0, 1, 2].map((seed) => ({
        ...base,
        curvature: 'gram' as const,
        sketch: { k1, k2: 16, seed },
      })),
    ),
  ];
  const rows: Record<string, unknown>[] = [];
  for (const cand of candidates) {
    if (cand.kind !== 'influence') continue;
    const t0 = performance.now();
    const scores = await influenceSelfPasses({
      parts: parts.length,
      checkpoints,
      read: async (p, c) => parts[p][c],
      curvature: { relativeDamping: cand.relativeDamping },
      curvatureKind: cand.curvature,
      sketch: cand.sketch,
    });
    const seconds = (performance.now() - t0) / 1000;
    const all = new Float64Array(train.rows);
    for (const [p, s] of scores.entries()) all.set(s, p * PART_ROWS);
    const r = mislabelReport(all, flipped, [0.1, 0.2]);
    const row = {
      self_score: selfScoreName(cand),
      curvature: cand.curvature,
      sketch: cand.sketch ?? null,
      main_job: canonical(cand) === canonical(self),
      found_top10: Number(r.foundAt[0].found.toFixed(4)),
      found_top20: Number(r.foundAt[1].found.toFixed(4)),
      auc: Number(r.auc.toFixed(4)),
      seconds: Number(seconds.toFixed(2)),
    };
    log(JSON.stringify(row));
    rows.push(row);
  }
  console.log(
    JSON.stringify({
      train: train.rows,
      checkpoints: checkpoints.length,
      backend,
      tf_threads: process.env.TF_NUM_INTRAOP_THREADS ?? null,
      relative_damping: self.relativeDamping,
      candidates: rows,
    }),
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
