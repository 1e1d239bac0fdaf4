/**
 * One forward pass keeping each selected layer's input, one backward pass giving δ (the gradient
 * of the summed test function w.r.t. each selected layer's pre-activation, obtained as the
 * gradient w.r.t. zero "probe" tensors added there). Since examples do not interact, each
 * example's δ is its own, so the factors give every example's exact gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { activationName, type Layer } from './layers/handler';
import { type LayerHandler, layerHandlers } from './layers/index';
import type { FactorBlock, LayerSelection, TestFunction } from './types';

/** A model walked layer by layer: which layers are selected and how each is run. */
export interface ModelPlan {
  steps: { layer: Layer; handler?: LayerHandler; selected: boolean }[];
  numClasses: number;
}

function chainLayers(model: tfl.LayersModel): Layer[] {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (!(model instanceof tfl.Sequential)) {
    for (let i = 0; i < layers.length; i++) {
      const nodes = (layers[i] as unknown as { inboundNodes: { inboundLayers: Layer[] }[] })
        .inboundNodes;
      const inbound = nodes.length === 1 ? nodes[0].inboundLayers : [];
      const prev = inbound.length === 1 ? inbound[0] : undefined;
      const ok = i === 0 ? prev?.getClassName() === 'InputLayer' : prev === layers[i - 1];
      if (!ok) {
        throw new Error(
          `model '${model.name}': only a chain of single-input layers is supported (at layer '${layers[i].name}')`,
        );
      }
    }
  }
  if (layers.length === 0) throw new Error(`model '${model.name}' has no layers`);
  return layers;
}

/** Resolves a parameter selection against a model; unsupported selected layers are errors. */
export function planModel(model: tfl.LayersModel, selection: LayerSelection = 'all'): ModelPlan {
  const layers = chainLayers(model);
  const trainable = layers.filter((l) => l.trainable && l.trainableWeights.length > 0);
  let chosen: Layer[];
  if (selection === 'all') chosen = trainable;
  else if (selection === 'last') chosen = trainable.slice(-1);
  else if (selection === 'adapters') {
    chosen = trainable.filter((l) => l.getClassName() === 'LoraDense');
    if (chosen.length === 0) throw new Error(`model '${model.name}' has no LoraDense adapters`);
  } else {
    chosen = selection.names.map((n) => {
      const l = layers.find((x) => x.name === n);
      if (!l) throw new Error(`model '${model.name}' has no layer named '${n}'`);
      if (!trainable.includes(l)) throw new Error(`layer '${n}' has no trainable weights`);
      return l;
    });
  }
  if (chosen.length === 0) throw new Error(`model '${model.name}': no trainable layer selected`);
  for (const l of chosen) {
    if (!layerHandlers[l.getClassName()]) {
      throw new Error(
        `layer '${l.name}' (${l.getClassName()}) is not supported for per-example gradients; ` +
          `supported: ${Object.keys(layerHandlers).join(', ')}`,
      );
    }
  }
  const out = model.outputs[0].shape;
  return {
    steps: layers.map((layer) => ({
      layer,
      handler: layerHandlers[layer.getClassName()],
      selected: chosen.includes(layer),
    })),
    numClasses: out[out.length - 1] as number,
  };
}

/** Factors and per-example test-function values for one batch. */
export interface BatchFactors {
  blocks: FactorBlock[];
  /** Per-example value of the test function. */
  values: Float32Array;
}

function checkInputs(xs: tf.Tensor, labels: Int32Array | null, plan: ModelPlan) {
  const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(xs))).dataSync()[0]);
  if (bad) throw new Error('inputs contain NaN or infinite values');
  if (labels) {
    if (labels.length !== xs.shape[0]) {
      throw new Error(`${labels.length} labels for ${xs.shape[0]} examples`);
    }
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i];
      if (!Number.isInteger(y) || y < 0 || y >= plan.numClasses) {
        throw new Error(`label ${y} of example ${i} is out of range [0, ${plan.numClasses})`);
      }
    }
  }
}

/** Logits of the model's output: a softmax output's pre-activation, else the output itself. */
function logitsOf(layer: Layer, z: tf.Tensor | null, y: tf.Tensor, input: tf.Tensor): tf.Tensor {
  const act = activationName(layer);
  if (act === 'softmax') {
    // A separate Activation('softmax') layer: its input is the logits.
    if (layer.getClassName() === 'Activation') return input;
    if (!z) throw new Error(`layer '${layer.name}': cannot take logits before its softmax`);
    return z;
  }
  if (act !== 'linear') {
    throw new Error(
      `last layer '${layer.name}' has activation '${act}': expected linear logits or softmax`,
    );
  }
  return y;
}

function perExample(logits: tf.Tensor, labels: tf.Tensor | null, fn: TestFunction): tf.Tensor {
  const c = logits.shape[1] as number;
  if (fn.kind === 'loss') {
    if (!labels) throw new Error("test function 'loss' needs labels");
    return tf.neg(tf.sum(tf.mul(tf.oneHot(labels as tf.Tensor1D, c), tf.logSoftmax(logits)), 1));
  }
  let cls: tf.Tensor;
  if (fn.classIndex !== undefined) {
    if (!Number.isInteger(fn.classIndex) || fn.classIndex < 0 || fn.classIndex >= c) {
      throw new Error(`test function class ${fn.classIndex} is out of range [0, ${c})`);
    }
    cls = tf.fill([logits.shape[0]], fn.classIndex, 'int32');
  } else cls = labels ?? tf.argMax(logits, 1);
  const out = fn.kind === 'logit' ? logits : tf.softmax(logits);
  return tf.sum(tf.mul(tf.oneHot(cls as tf.Tensor1D, c), out), 1);
}

/**
 * Per-example gradient factors of the selected layers for one batch, and the per-example test
 * function. `labels` may be null only for a logit/probability test function.
 */
export function computeFactors(
  plan: ModelPlan,
  xs: tf.Tensor,
  labels: Int32Array | null,
  testFunction: TestFunction = { kind: 'loss' },
): BatchFactors {
  checkInputs(xs, labels, plan);
  const selected = plan.steps.filter((s) => s.selected);
  // Probe shapes follow the layers' own shape inference from the actual input shape.
  const probeShapes: number[][] = [];
  let shape = xs.shape as number[];
  for (const s of plan.steps) {
    if (s.selected && s.handler) probeShapes.push(s.handler.probeShape(s.layer, shape));
    const next = s.layer.computeOutputShape(shape) as (number | null)[];
    shape = next.map((d, i) => (d === null ? shape[i] : d)) as number[];
    shape[0] = xs.shape[0];
  }
  const probes = probeShapes.map((p) => tf.zeros(p));
  const labelT = labels ? tf.tensor1d(labels, 'int32') : null;
  const saved: tf.Tensor[][] = [];
  let perEx: tf.Tensor | null = null;
  const f = (...ps: tf.Tensor[]): tf.Tensor => {
    let x = xs;
    let input = xs;
    let z: tf.Tensor | null = null;
    let p = 0;
    for (const s of plan.steps) {
      input = x;
      if (s.handler) {
        const r = s.handler.forward(s.layer, x, s.selected ? ps[p++] : null);
        if (s.selected) saved.push(r.saved.map((t) => tf.keep(t)));
        x = r.y;
        z = r.z;
      } else {
        x = s.layer.apply(x, { training: false }) as tf.Tensor;
        z = null;
      }
    }
    const last = plan.steps[plan.steps.length - 1].layer;
    const logits = logitsOf(last, z, x, input);
    perEx = tf.keep(perExample(logits, labelT, testFunction));
    return tf.sum(perEx);
  };
  let deltas: tf.Tensor[] = [];
  try {
    deltas = tf.grads(f)(probes);
    const blocks: FactorBlock[] = [];
    selected.forEach((s, i) => {
      blocks.push(...(s.handler as LayerHandler).blocks(s.layer, saved[i], deltas[i]));
    });
    const v = (perEx as unknown as tf.Tensor).dataSync();
    return { blocks, values: v instanceof Float32Array ? v : Float32Array.from(v) };
  } finally {
    // A first layer saves the caller's own input tensor: never dispose that.
    tf.dispose([...probes, ...deltas, ...saved.flat().filter((t) => t !== xs)]);
    if (labelT) labelT.dispose();
    if (perEx) (perEx as tf.Tensor).dispose();
  }
}
