import * as tf from '@tensorflow/tfjs-core';

/**
 * Optimizers with explicit state, so that a checkpoint holds everything a resumed run needs
 * (tfjs optimizers keep part of theirs, e.g. Adam's beta powers, in private fields).
 */
export type OptimizerConfig =
  | { kind: 'sgd' }
  | { kind: 'momentum'; momentum: number; nesterov?: boolean }
  | { kind: 'adam'; beta1?: number; beta2?: number; epsilon?: number };

/** Per-parameter slot tensors (momentum velocity; Adam first and second moments). */
export interface OptimizerState {
  kind: OptimizerConfig['kind'];
  /** Number of updates applied so far (Adam's bias correction needs it). */
  updates: number;
  slots: Record<string, tf.Tensor[]>;
}

export function checkOptimizerConfig(c: OptimizerConfig): void {
  if (c.kind === 'sgd') return;
  if (c.kind === 'momentum') {
    if (!(c.momentum >= 0 && c.momentum < 1)) {
      throw new Error(`momentum must be in [0, 1), got ${c.momentum}`);
    }
    return;
  }
  if (c.kind === 'adam') {
    const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = c;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0)) {
      throw new Error(`invalid Adam parameters beta1=${beta1} beta2=${beta2} epsilon=${epsilon}`);
    }
    return;
  }
  throw new Error(`unknown optimizer kind "${(c as { kind: string }).kind}"`);
}

export function initOptimizerState(c: OptimizerConfig, params: tf.Tensor[]): OptimizerState {
  checkOptimizerConfig(c);
  const zeros = () => params.map((p) => tf.zerosLike(p));
  const slots: Record<string, tf.Tensor[]> = {};
  if (c.kind === 'momentum') slots.velocity = zeros();
  if (c.kind === 'adam') {
    slots.m = zeros();
    slots.v = zeros();
  }
  return { kind: c.kind, updates: 0, slots };
}

export function disposeOptimizerState(s: OptimizerState): void {
  for (const list of Object.values(s.slots)) tf.dispose(list);
}

/** Applies one update in place to `vars` and to the state's slots. */
export function applyUpdate(
  c: OptimizerConfig,
  state: OptimizerState,
  vars: tf.Variable[],
  grads: tf.Tensor[],
  learningRate: number,
): void {
  if (state.kind !== c.kind) {
    throw new Error(`optimizer state is for "${state.kind}" but the config asks for "${c.kind}"`);
  }
  const t = state.updates + 1;
  for (let i = 0; i < vars.length; i++) {
    const v = vars[i];
    const g = grads[i];
    if (c.kind === 'sgd') {
      tf.tidy(() => v.assign(tf.sub(v, tf.mul(tf.scalar(learningRate), g))));
    } else if (c.kind === 'momentum') {
      const old = state.slots.velocity[i];
      const vel = tf.tidy(() => tf.add(tf.mul(tf.scalar(c.momentum), old), g));
      tf.tidy(() => {
        const dir = c.nesterov ? tf.add(g, tf.mul(tf.scalar(c.momentum), vel)) : vel;
        v.assign(tf.sub(v, tf.mul(tf.scalar(learningRate), dir)));
      });
      old.dispose();
      state.slots.velocity[i] = vel;
    } else {
      const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = c;
      const oldM = state.slots.m[i];
      const oldV = state.slots.v[i];
      const m = tf.tidy(() =>
        tf.add(tf.mul(tf.scalar(beta1), oldM), tf.mul(tf.scalar(1 - beta1), g)),
      );
      const s = tf.tidy(() =>
        tf.add(tf.mul(tf.scalar(beta2), oldV), tf.mul(tf.scalar(1 - beta2), tf.square(g))),
      );
      // Bias corrections in float64 from the update count, so they depend only on the state.
      const stepSize = learningRate / (1 - beta1 ** t);
      const vCorr = Math.sqrt(1 - beta2 ** t);
      tf.tidy(() => {
        const denom = tf.add(tf.div(tf.sqrt(s), tf.scalar(vCorr)), tf.scalar(epsilon));
        v.assign(tf.sub(v, tf.mul(tf.scalar(stepSize), tf.div(m, denom))));
      });
      oldM.dispose();
      oldV.dispose();
      state.slots.m[i] = m;
      state.slots.v[i] = s;
    }
  }
  state.updates = t;
}
