import * as tf from '@tensorflow/tfjs-core';
import type { FactorBlock } from '../types';
import {
  exactGradientBlock,
  type ForwardResult,
  type Layer,
  type LayerHandler,
  values,
} from './handler';

/**
 * Shared by BatchNormalization (inference) and LayerNormalization: y = γ ⊙ x̂ + β with γ, β laid
 * along `axes`. Example i's gradients are exact and no outer product: ∂γ = Σ δ ⊙ x̂ and ∂β = Σ δ,
 * summed over every other non-batch axis (the positions), so the block is exactGradientBlock.
 */
export interface NormParts {
  /** Parameter axes of the input (ascending, none of them the batch axis). */
  axes: number[];
  gamma: tf.Tensor | null;
  beta: tf.Tensor | null;
}

/** Reshapes a parameter laid along `axes` to broadcast against an input of rank `rank`. */
export function broadcastParam(p: tf.Tensor, axes: number[], shape: number[]): tf.Tensor {
  const b = shape.map((d, i) => (axes.includes(i) ? d : 1));
  return tf.reshape(p, b);
}

/** Parameter axes as non-negative, ascending; the layer's own order must already be ascending. */
export function normAxes(layer: Layer, axis: number | number[], rank: number): number[] {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
  for (let k = 0; k < axes.length; k++) {
    if (axes[k] <= 0 || axes[k] >= rank || (k > 0 && axes[k] <= axes[k - 1])) {
      throw new Error(
        `layer '${layer.name}' (${layer.getClassName()}): axis ${JSON.stringify(axis)} is not supported (non-batch axes in ascending order)`,
      );
    }
  }
  return axes;
}

/** z = γ ⊙ x̂ + β (+ probe); the output is z (normalization layers have no activation). */
export function normForward(
  xhat: tf.Tensor,
  parts: NormParts,
  probe: tf.Tensor | null,
): ForwardResult {
  const shape = xhat.shape as number[];
  let z = xhat;
  if (parts.gamma) z = tf.mul(z, broadcastParam(parts.gamma, parts.axes, shape));
  if (parts.beta) z = tf.add(z, broadcastParam(parts.beta, parts.axes, shape));
  if (probe) z = tf.add(z, probe);
  return { z, y: z, saved: [xhat] };
}

/** The exact per-example ∂γ, ∂β from x̂ and δ, summed over the non-parameter axes. */
export function normBlocks(
  layer: Layer,
  xhat: tf.Tensor,
  delta: tf.Tensor,
  axes: number[],
  hasGamma: boolean,
  hasBeta: boolean,
): FactorBlock[] {
  const rows = xhat.shape[0];
  const sumAxes = xhat.shape.map((_, i) => i).filter((i) => i > 0 && !axes.includes(i));
  const g = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    const flat = (t: tf.Tensor) =>
      tf.reshape(sumAxes.length > 0 ? tf.sum(t, sumAxes) : t, [rows, -1]);
    if (hasGamma) parts.push(flat(tf.mul(delta, xhat)));
    if (hasBeta) parts.push(flat(delta));
    return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
  });
  const gv = values(g);
  g.dispose();
  const ws = layer.weights;
  const params: FactorBlock['params'] = [];
  const byName = (suffix: string) => ws.find((w) => w.originalName.endsWith(`/${suffix}`));
  for (const [on, suffix] of [
    [hasGamma, 'gamma'],
    [hasBeta, 'beta'],
  ] as const) {
    if (!on) continue;
    const w = byName(suffix);
    if (!w) throw new Error(`layer '${layer.name}' has no ${suffix} weight`);
    params.push({ name: w.name, shape: w.shape as number[] });
  }
  return [exactGradientBlock(layer.name, layer, rows, gv, params)];
}

/** What every normalization layer holds: its axis, ε and the optional γ, β. */
export interface NormLayer {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
}

/**
 * A handler for a normalization layer given only where its mean and variance come from (the
 * moving statistics, or the example's own moments); x̂, the forward pass and the blocks are shared.
 */
export function normHandler<L extends NormLayer>(
  stats: (l: L, x: tf.Tensor, axes: number[]) => { mean: tf.Tensor; variance: tf.Tensor },
): LayerHandler {
  return {
    probeShape: (_layer, inputShape) => inputShape,
    forward(layer, x, probe) {
      const l = layer as unknown as L;
      const axes = normAxes(layer, l.axis, x.rank);
      const { mean, variance } = stats(l, x, axes);
      const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, l.epsilon)));
      const gamma = l.scale && l.gamma ? l.gamma.read() : null;
      const beta = l.center && l.beta ? l.beta.read() : null;
      return normForward(xhat, { axes, gamma, beta }, probe);
    },
    blocks(layer, saved, delta) {
      const l = layer as unknown as L;
      const axes = normAxes(layer, l.axis, saved[0].rank);
      return normBlocks(layer, saved[0], delta, axes, l.scale, l.center);
    },
  };
}
