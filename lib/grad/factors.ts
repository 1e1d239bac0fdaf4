/**
 * One forward pass keeping each selected layer's input, one backward pass giving δ (the gradient
 * of the summed test function w.r.t. each selected layer's pre-activation, obtained as the
 * gradient w.r.t. zero "probe" tensors added there). Since examples do not interact, each
 * example's δ is its own, so the factors give every example's exact gradient.
 *
 * The model is walked as its graph (sequential or functional): every layer call in topological
 * order, each reading the tensors its inbound node names, so merges (Add, Concatenate,
 * Multiply...) and skip connections need nothing special. Layers without a handler run through
 * their own `apply` in inference mode (Dropout is the identity, BatchNormalization uses its
 * moving statistics).
 *
 * Over 300 lines: the plan, the tape and manual backward passes' shared walk of the graph, and
 * the factor blocks they give, read best in one place.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkTargets, type Head, headOf, perExampleValue, targetTensor } from './head';
import { activationName, type FactorScratch, type Layer } from './layers/handler';
import { type LayerHandler, layerHandlers } from './layers/index';
import { manualBackwardBlocker, manualFactors } from './manualBackward';
import type { FactorBlock, LayerSelection, TestFunction } from './types';

/** One layer call of the model's graph. */
export interface PlanStep {
  layer: Layer;
  handler?: LayerHandler;
  selected: boolean;
  /** Ids of the symbolic tensors this call reads (in order) and of the one it writes. */
  inputs: number[];
  output: number;
}

/** A model walked call by call: which layers are selected and how each is run. */
export interface ModelPlan {
  steps: PlanStep[];
  /** Symbolic tensor ids of the model's input and output. */
  input: number;
  output: number;
  head: Head;
  /** Label values the head accepts ([0, numClasses)); 0 for a regression head. */
  numClasses: number;
  /**
   * How δ is found: 'manual' (manualBackward.ts: the gradient kernels called directly) where the
   * selected layers and those downstream are a chain of handlers with an input gradient, else
   * 'tape' (tf.grads through zero probes). Both give the same bits.
   */
  backward: 'manual' | 'tape';
}

interface GraphNode {
  outboundLayer: Layer;
  inputTensors: { id: number }[];
  outputTensors: { id: number }[];
}

/** The model's layer calls in topological order (its own node graph, deepest first). */
function graphSteps(model: tfl.LayersModel): Omit<PlanStep, 'handler' | 'selected'>[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(
      `model '${model.name}' has ${model.inputs.length} inputs and ${model.outputs.length} outputs: only single-input, single-output models are supported`,
    );
  }
  const graph = model as unknown as { nodesByDepth?: Record<string, GraphNode[]> };
  // A Sequential builds its graph lazily (on first predict or compile).
  if (model instanceof tfl.Sequential && Object.keys(graph.nodesByDepth ?? {}).length === 0) {
    model.build(model.inputs[0].shape);
  }
  const byDepth = graph.nodesByDepth;
  if (!byDepth) throw new Error(`model '${model.name}' has no graph (was it built?)`);
  const steps: Omit<PlanStep, 'handler' | 'selected'>[] = [];
  const depths = Object.keys(byDepth)
    .map(Number)
    .sort((a, b) => b - a);
  for (const d of depths) {
    for (const node of byDepth[d]) {
      const layer = node.outboundLayer;
      if (layer.getClassName() === 'InputLayer') continue;
      if (node.outputTensors.length !== 1) {
        throw new Error(
          `layer '${layer.name}' (${layer.getClassName()}) has ${node.outputTensors.length} outputs: only single-output layers are supported`,
        );
      }
      steps.push({
        layer,
        inputs: node.inputTensors.map((t) => t.id),
        output: node.outputTensors[0].id,
      });
    }
  }
  if (steps.length === 0) throw new Error(`model '${model.name}' has no layers`);
  return steps;
}

/** The layers with trainable weights, by the names a selection uses. */
function trainableLayers(steps: { layer: Layer }[]): Layer[] {
  const seen = new Set<Layer>();
  for (const s of steps) {
    if (s.layer.trainable && s.layer.trainableWeights.length > 0) seen.add(s.layer);
  }
  return [...seen];
}

function unsupported(l: Layer, trainable: Layer[], why: string): Error {
  const ok = trainable.filter((t) => layerHandlers[t.getClassName()] && t !== l).map((t) => t.name);
  const hint =
    ok.length > 0
      ? `exclude it by naming the layers to attribute, e.g. layers: {names: ${JSON.stringify(ok)}}`
      : 'no other layer of this model is supported either';
  return new Error(`layer '${l.name}' (${l.getClassName()}) ${why}; ${hint}`);
}

/** Resolves a parameter selection against a model; unsupported selected layers are errors. */
export function planModel(model: tfl.LayersModel, selection: LayerSelection = 'all'): ModelPlan {
  const graph = graphSteps(model);
  const trainable = trainableLayers(graph);
  let chosen: Layer[];
  if (selection === 'all') chosen = trainable;
  else if (selection === 'last') chosen = trainable.slice(-1);
  else if (selection === 'adapters') {
    chosen = trainable.filter((l) => l.getClassName() === 'LoraDense');
    if (chosen.length === 0) throw new Error(`model '${model.name}' has no LoraDense adapters`);
  } else {
    chosen = selection.names.map((n) => {
      const l = graph.find((s) => s.layer.name === n)?.layer;
      if (!l) throw new Error(`model '${model.name}' has no layer named '${n}'`);
      if (!trainable.includes(l)) throw new Error(`layer '${n}' has no trainable weights`);
      return l;
    });
  }
  if (chosen.length === 0) throw new Error(`model '${model.name}': no trainable layer selected`);
  for (const l of chosen) {
    if (!layerHandlers[l.getClassName()]) {
      throw unsupported(
        l,
        trainable,
        `is not supported for per-example gradients (supported: ${Object.keys(layerHandlers).join(', ')})`,
      );
    }
    const calls = graph.filter((s) => s.layer === l);
    if (calls.length !== 1) {
      throw unsupported(l, trainable, `is shared (called ${calls.length} times)`);
    }
    if (calls[0].inputs.length !== 1) {
      throw unsupported(l, trainable, `takes ${calls[0].inputs.length} inputs`);
    }
  }
  // Layers the backward pass goes through (or reads δ from): selected ones and those downstream.
  const live = new Set<number>();
  for (const s of graph) {
    if (!chosen.includes(s.layer) && !s.inputs.some((id) => live.has(id))) continue;
    live.add(s.output);
    const why = layerHandlers[s.layer.getClassName()]?.unsupported?.(s.layer);
    if (why) throw unsupported(s.layer, trainable, why);
  }
  const output = model.outputs[0];
  const head = headOfModel(model, graph);
  const plan = {
    steps: graph.map((s) => ({
      ...s,
      handler: layerHandlers[s.layer.getClassName()],
      selected: chosen.includes(s.layer),
    })),
    input: model.inputs[0].id,
    output: output.id,
    head,
    numClasses: head.classes,
  };
  return { ...plan, backward: manualBackwardBlocker(plan) === null ? 'manual' : 'tape' };
}

/** A separate activation layer (Activation, Softmax) whose input is the head's pre-activation. */
function isActivationLayer(layer: Layer): boolean {
  const c = layer.getClassName();
  return c === 'Activation' || c === 'Softmax';
}

function outputActivation(layer: Layer): string {
  return layer.getClassName() === 'Softmax' ? 'softmax' : activationName(layer);
}

function headOfModel(model: tfl.LayersModel, graph: { layer: Layer; output: number }[]): Head {
  const shape = model.outputs[0].shape;
  if (shape.length !== 2) {
    throw new Error(
      `model '${model.name}' outputs shape [${shape}]: expected rank 2 (examples × outputs)`,
    );
  }
  const last = graph.find((s) => s.output === model.outputs[0].id)?.layer as Layer;
  return headOf(last.name, outputActivation(last), shape[1] as number);
}

/** A model's head (for checks at plan time, e.g. its classes against the data's). */
export function modelHead(model: tfl.LayersModel): Head {
  return headOfModel(model, graphSteps(model));
}

/** Factors and per-example test-function values for one batch. */
export interface BatchFactors {
  blocks: FactorBlock[];
  /** Per-example value of the test function. */
  values: Float32Array;
}

function checkInputs(
  xs: tf.Tensor,
  targets: ArrayLike<number> | null,
  plan: ModelPlan,
  finite: boolean,
) {
  // Three kernel calls and a read back per batch: 2.8% of a worker's CPU in bench:main's shard
  // step (`perf record`), once per checkpoint for the same rows; skipped for checked rows.
  const ok = finite || tf.tidy(() => tf.all(tf.isFinite(xs)).dataSync()[0]);
  if (!ok) throw new Error('inputs contain NaN or infinite values');
  if (targets) checkTargets(plan.head, targets, xs.shape[0]);
}

/** Each call's output shape for the batch, by symbolic tensor id (for the probes). */
function shapesOf(plan: ModelPlan, inputShape: number[]): Map<number, number[]> {
  const shapes = new Map<number, number[]>([[plan.input, inputShape]]);
  for (const s of plan.steps) {
    const ins = s.inputs.map((id) => shapes.get(id) as number[]);
    // A handler knows its output's shape (tfjs gets a causal Conv1D's wrong).
    const next = (
      s.handler
        ? s.handler.probeShape(s.layer, ins[0])
        : s.layer.computeOutputShape(ins.length === 1 ? ins[0] : ins)
    ) as (number | null)[];
    const out = next.map((d, i) => (d === null ? ins[0][i] : d)) as number[];
    out[0] = inputShape[0];
    shapes.set(s.output, out);
  }
  return shapes;
}

/**
 * Per-example gradient factors of the selected layers for one batch, and the per-example test
 * function. `targets` (integer labels, or real values for a regression head) may be null only for
 * a logit/probability/prediction test function.
 */
export function computeFactors(
  plan: ModelPlan,
  xs: tf.Tensor,
  targets: ArrayLike<number> | null,
  testFunction: TestFunction = { kind: 'loss' },
  /** Arrays the blocks may be written into (see FactorScratch: only for blocks used at once). */
  scratch?: FactorScratch,
  /** The caller has checked every value of xs is finite (BatchInput.finite). */
  finite = false,
): BatchFactors {
  checkInputs(xs, targets, plan, finite);
  if (plan.backward === 'manual') {
    const targetT = targets ? targetTensor(plan.head, targets) : null;
    try {
      return factorsOf(plan, xs, manualFactors(plan, xs, targets, targetT, testFunction), scratch);
    } finally {
      targetT?.dispose();
    }
  }
  const selected = plan.steps.filter((s) => s.selected);
  const shapes = shapesOf(plan, xs.shape as number[]);
  const probes = selected.map((s) => {
    const inShape = shapes.get(s.inputs[0]) as number[];
    return tf.zeros((s.handler as LayerHandler).probeShape(s.layer, inShape));
  });
  const targetT = targets ? targetTensor(plan.head, targets) : null;
  const saved: tf.Tensor[][] = [];
  let perEx: tf.Tensor | null = null;
  const f = (...ps: tf.Tensor[]): tf.Tensor => {
    const env = new Map<number, tf.Tensor>([[plan.input, xs]]);
    let head: tf.Tensor | null = null;
    let p = 0;
    for (const s of plan.steps) {
      const ins = s.inputs.map((id) => env.get(id) as tf.Tensor);
      let y: tf.Tensor;
      let z: tf.Tensor | null = null;
      if (s.handler) {
        const r = s.handler.forward(s.layer, ins[0], s.selected ? ps[p++] : null);
        if (s.selected) saved.push(r.saved.map((t) => tf.keep(t)));
        y = r.y;
        z = r.z;
      } else {
        y = s.layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor;
      }
      env.set(s.output, y);
      if (s.output === plan.output) head = headInput(plan, s.layer, z, y, ins[0]);
    }
    perEx = tf.keep(perExampleValue(plan.head, head as tf.Tensor, targetT, testFunction));
    return tf.sum(perEx);
  };
  let deltas: tf.Tensor[];
  try {
    deltas = tf.grads(f)(probes);
  } catch (e) {
    tf.dispose([...saved.flat().filter((t) => t !== xs), ...(perEx ? [perEx as tf.Tensor] : [])]);
    throw e;
  } finally {
    tf.dispose(probes);
    targetT?.dispose();
  }
  return factorsOf(plan, xs, { deltas, saved, perEx: perEx as unknown as tf.Tensor1D }, scratch);
}

/** The selected calls' factor blocks and the test-function values; disposes the tensors. */
function factorsOf(
  plan: ModelPlan,
  xs: tf.Tensor,
  t: { deltas: tf.Tensor[]; saved: tf.Tensor[][]; perEx: tf.Tensor1D },
  scratch?: FactorScratch,
): BatchFactors {
  try {
    const blocks: FactorBlock[] = [];
    plan.steps
      .filter((s) => s.selected)
      .forEach((s, i) => {
        blocks.push(
          ...(s.handler as LayerHandler).blocks(s.layer, t.saved[i], t.deltas[i], scratch),
        );
      });
    const v = t.perEx.dataSync();
    return { blocks, values: v instanceof Float32Array ? v : Float32Array.from(v) };
  } finally {
    // A first layer saves the caller's own input tensor: never dispose that.
    tf.dispose([...t.deltas, ...t.saved.flat().filter((s) => s !== xs), t.perEx]);
  }
}

/**
 * What the head's loss reads: the output layer's pre-activation for a softmax or sigmoid head
 * (a separate Activation layer's input), else the output itself.
 */
function headInput(
  plan: ModelPlan,
  layer: Layer,
  z: tf.Tensor | null,
  y: tf.Tensor,
  input: tf.Tensor,
): tf.Tensor {
  if (plan.head.kind !== 'softmax' && plan.head.kind !== 'sigmoid') return y;
  if (isActivationLayer(layer)) return input;
  if (!z) {
    throw new Error(
      `output layer '${layer.name}' (${layer.getClassName()}): cannot take the logits before its ${plan.head.kind}`,
    );
  }
  return z;
}
