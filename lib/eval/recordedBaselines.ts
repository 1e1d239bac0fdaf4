/**
 * Peer figures measured by bench:mislabel and recorded in BENCHMARKS.md ("Against confident
 * learning"), for lines that compare with them without running Python (npm start installs none).
 * The flips and the k-fold split are defined here too: bench:mislabel's Fashion-MNIST pass and
 * the main job (lib/jobs/mainJob.ts) both take them from here, so a recorded figure and the main
 * job's audit are measured on the same rows, the same flipped labels and the same folds.
 */

/** Seed of the k-fold split bench:mislabel gives cleanlab and tda's fold models. */
export const MISLABEL_FOLD_SEED = 101;

/** All 60,000 Fashion-MNIST training images, 10% of labels flipped (lib/data/labelNoise). */
export const FASHION_MNIST_FLIPS = { fraction: 0.1, seed: 42 } as const;

export interface RecordedFigure {
  /** Who, with what, e.g. 'cleanlab (HistGradientBoosting, 5-fold)'. */
  method: string;
  /** Fraction of the flipped labels found in the top 10% / 20%, and the ROC AUC. */
  foundAt10: number;
  foundAt20: number;
  auc: number;
  /** Where and when it was measured. */
  source: string;
  command: string;
}

/**
 * cleanlab 2.9.0 on Fashion-MNIST (FASHION_MNIST_FLIPS, 5 folds split by MISLABEL_FOLD_SEED), the
 * better of its two classifiers; fifth session, quiet 2-vCPU machine.
 */
export const CLEANLAB_FASHION_MNIST: RecordedFigure = {
  method: 'cleanlab (HistGradientBoosting, 5-fold)',
  foundAt10: 0.902,
  foundAt20: 0.987,
  auc: 0.9934,
  source: 'bench:mislabel 2026-11-30',
  command:
    'MISLABEL_SKIP_CSV=1 MISLABEL_SKIP_SPAM=1 MISLABEL_SKIP_HEADS=1 OMP_NUM_THREADS=2 npm run bench:mislabel',
};
