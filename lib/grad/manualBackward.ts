/**
 * The backward pass written out, for models whose layers from the first selected one to the
 * output form a chain of handlers that know their input gradient (Dense today) and pass-through
 * layers (Dropout, Flatten...). tf.grads records every forward kernel on a tape and replays
 * gradient functions with their bookkeeping: 97 kernel calls per batch for an MLP 784-256-128-10
 * on tfjs-node, most of them identities, reshapes and casts, each a dispatch costing more than
 * the arithmetic at these sizes. This pass calls the gradient kernels directly, and a softmax or
 * logits head's loss gradient is taken in float64 from the logits (head.ts softmaxCrossEntropy):
 * 19 kernels. Other heads and test functions take autodiff of the head alone (one definition).
 *
 * The same kernels on the same inputs as the tape, so the factors are the tape's bits, except
 * the softmax loss's float64 gradient (checked in test/unit/grad/manualBackward.test.ts against
 * the tape, and by every test of that folder against naive per-example autodiff).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelPlan, PlanStep } from './factors';
import { perExampleValue, softmaxCrossEntropy } from './head';
import { activationName, type Layer } from './layers/handler';
import { passThroughLayers } from './layers/passThrough';
import type { TestFunction } from './types';

/** Why a plan cannot take the written-out backward pass, or null when it can. */
export function manualBackwardBlocker(plan: Omit<ModelPlan, 'backward'>): string | null {
  const first = plan.steps.findIndex((s) => s.selected);
  const live = plan.steps.slice(first);
  for (let i = 0; i < live.length; i++) {
    const s = live[i];
    if (!s.handler?.inputGrad && !passThroughLayers.has(s.layer.getClassName())) {
      return `layer '${s.layer.name}' (${s.layer.getClassName()}) has no written-out input gradient`;
    }
    if (i > 0 && (s.inputs.length !== 1 || s.inputs[0] !== live[i - 1].output)) {
      return `layer '${s.layer.name}' does not read the previous layer's output`;
    }
    // Every live tensor must feed only the next step (no skip connection reads it).
    const readers = plan.steps.filter((t) => t.inputs.includes(s.output)).length;
    if (readers > (s.output === plan.output ? 0 : 1)) {
      return `layer '${s.layer.name}''s output is read by ${readers} layers`;
    }
  }
  if (live[live.length - 1]?.output !== plan.output) return 'the chain does not end at the output';
  return null;
}

/**
 * dL/dz from dL/dy through the layer's activation y = act(z). ReLU as dy·(z > 0), the values of
 * tfjs-core's own dy·step(z) (whose step is six kernels on tfjs-node); any other activation by
 * autodiff of the activation alone.
 */
export function activationGrad(layer: Layer, z: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const name = activationName(layer);
  if (name === 'linear') return dy;
  if (name === 'relu') return tf.mul(dy, tf.cast(tf.greater(z, 0), 'float32'));
  const act = (layer as unknown as { activation: { apply(t: tf.Tensor): tf.Tensor } }).activation;
  return tf.grad((t: tf.Tensor) => act.apply(t))(z, dy);
}

/** One selected-or-downstream layer call's forward state, kept for the backward pass. */
interface LiveCall {
  step: PlanStep;
  /** The call's input (a pass-through layer's gradient takes its shape). */
  x: tf.Tensor;
  z: tf.Tensor;
  saved: tf.Tensor[];
}

/**
 * δ (dL/dz) of every live call, last to first, from the head's gradient `dHead` w.r.t. the
 * output call's head input (its z for a softmax or sigmoid head, else y: then the output's
 * activation is linear and y = z). Returns δ of the selected calls, in call order. Run it inside
 * a tf.tidy: the intermediate tensors are left to it.
 */
export function backwardChain(
  calls: LiveCall[],
  dHead: tf.Tensor,
  headReadsZ: boolean,
): tf.Tensor[] {
  const deltas: tf.Tensor[] = [];
  let dy = dHead;
  for (let i = calls.length - 1; i >= 0; i--) {
    const { step, x, z, saved } = calls[i];
    if (!step.handler) {
      // A pass-through layer (its output is its input, reshaped at most).
      dy = tf.util.arraysEqual(dy.shape, x.shape) ? dy : tf.reshape(dy, x.shape);
      continue;
    }
    const dz = i === calls.length - 1 && headReadsZ ? dHead : activationGrad(step.layer, z, dy);
    if (step.selected) deltas.unshift(dz);
    if (i > 0) {
      const inputGrad = step.handler.inputGrad;
      if (!inputGrad) throw new Error(`layer '${step.layer.name}' has no input gradient`);
      dy = inputGrad(step.layer, saved, dz);
    }
  }
  return deltas;
}

/**
 * Forward, the head's gradient and the written-out backward pass for one batch: δ and the saved
 * inputs of the selected calls (in call order), and the per-example test-function values. The
 * caller disposes what it gets (the saved inputs may include `xs` itself).
 */
export function manualFactors(
  plan: ModelPlan,
  xs: tf.Tensor,
  labels: ArrayLike<number> | null,
  targets: tf.Tensor1D | null,
  fn: TestFunction,
): { deltas: tf.Tensor[]; saved: tf.Tensor[][]; perEx: tf.Tensor1D } {
  const first = plan.steps.findIndex((s) => s.selected);
  const headReadsZ = plan.head.kind === 'softmax' || plan.head.kind === 'sigmoid';
  // Kept out of the tidy (the head's autodiff would dispose it): disposed by the caller.
  let perEx: tf.Tensor1D | null = null;
  const pass = () => {
    const env = new Map<number, tf.Tensor>([[plan.input, xs]]);
    const calls: LiveCall[] = [];
    let headIn: tf.Tensor | null = null;
    plan.steps.forEach((s, k) => {
      const ins = s.inputs.map((id) => env.get(id) as tf.Tensor);
      if (!s.handler) {
        const y = s.layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor;
        env.set(s.output, y);
        if (k >= first) calls.push({ step: s, x: ins[0], z: y, saved: [] });
        return;
      }
      const r = s.handler.forward(s.layer, ins[0], null);
      env.set(s.output, r.y);
      if (k >= first) calls.push({ step: s, x: ins[0], z: r.z, saved: r.saved });
      if (s.output === plan.output) headIn = headReadsZ ? r.z : r.y;
    });
    const h = headIn as unknown as tf.Tensor;
    let dHead: tf.Tensor;
    if (
      fn.kind === 'loss' &&
      labels &&
      (plan.head.kind === 'softmax' || plan.head.kind === 'logits')
    ) {
      const k = h.shape[1] as number;
      const ce = softmaxCrossEntropy(h.dataSync(), labels, k);
      perEx = tf.keep(tf.tensor1d(ce.values));
      dHead = tf.tensor2d(ce.grad, [labels.length, k]);
    } else {
      dHead = tf.grad((t: tf.Tensor) => {
        perEx = tf.keep(perExampleValue(plan.head, t, targets, fn));
        return tf.sum(perEx);
      })(h);
    }
    const deltas = backwardChain(calls, dHead, headReadsZ);
    return { deltas, saved: calls.filter((c) => c.step.selected).map((c) => c.saved) };
  };
  try {
    return { ...tf.tidy(pass), perEx: perEx as unknown as tf.Tensor1D };
  } catch (e) {
    (perEx as tf.Tensor1D | null)?.dispose();
    throw e;
  }
}
