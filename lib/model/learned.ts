import type { Checkpoint } from './checkpoints';

/**
 * Whether a run's checkpoints show a model that has learned, from the fit `tda train` recorded
 * in the manifest. Attribution over checkpoints of a model that has not learned ranks examples
 * by noise (issue 12: 70% of flipped labels found where a trained model finds 86%), so runs and
 * audits say so. Manifests without metrics (older ones, imported models) are not judged.
 *
 * Not learned: at the last checkpoint the training accuracy is within a tenth of the way from
 * chance (1/classes) to perfect, or the training loss is not below the first checkpoint's.
 */
export function notLearned(checkpoints: Checkpoint[], classes: number): string | null {
  const fits = checkpoints.filter((c) => c.metrics);
  if (fits.length === 0) return null;
  const first = fits[0].metrics!.train;
  const last = fits[fits.length - 1];
  const fit = last.metrics!.train;
  const chance = 1 / classes;
  const reasons: string[] = [];
  if (fit.accuracy < chance + 0.1 * (1 - chance)) {
    reasons.push(
      `training accuracy ${fmt(fit.accuracy)} at step ${last.step} is near chance (${fmt(chance)} for ${classes} classes)`,
    );
  }
  if (fits.length > 1 && !(fit.loss < first.loss)) {
    reasons.push(
      `training loss ${fmt(fit.loss)} at step ${last.step} is not below ${fmt(first.loss)} at step ${fits[0].step}`,
    );
  }
  if (reasons.length === 0) return null;
  return `the checkpoints show a model that has not learned: ${reasons.join('; ')}. Attribution over them ranks examples by noise; train until it has (tda train --epochs N, or --validation F --early-stop P), see README "Training until the model has learned"`;
}

/** `{ warnings: [...] }` when the model has not learned, else nothing: for plans and summaries. */
export function learningWarnings(
  checkpoints: Checkpoint[],
  classes: number,
): { warnings?: string[] } {
  const w = notLearned(checkpoints, classes);
  return w ? { warnings: [w] } : {};
}

function fmt(v: number): string {
  return v.toFixed(3);
}
