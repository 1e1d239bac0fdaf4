/**
 * A Dense layer with a frozen base kernel W (and bias b) and a trainable low-rank adapter:
 * y = act(x W + b + (x A) B · scale), A: in × rank, B: rank × units, scale = alpha / rank.
 * Registered with tfjs serialization so LayersModels holding it save and load.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface LoraDenseArgs {
  units: number;
  rank: number;
  /** scale = alpha / rank (default alpha = rank, i.e. scale 1). */
  alpha?: number;
  activation?: 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';
  useBias?: boolean;
  name?: string;
  inputShape?: number[];
  batchInputShape?: number[];
  trainable?: boolean;
}

const activations: Record<string, (t: tf.Tensor) => tf.Tensor> = {
  linear: (t) => t,
  relu: (t) => tf.relu(t),
  tanh: (t) => tf.tanh(t),
  sigmoid: (t) => tf.sigmoid(t),
  softmax: (t) => tf.softmax(t),
};

export class LoraDense extends tfl.layers.Layer {
  static className = 'LoraDense';
  readonly units: number;
  readonly rank: number;
  readonly alpha: number;
  readonly activationName: string;
  readonly useBias: boolean;
  kernel!: tfl.LayerVariable;
  bias: tfl.LayerVariable | null = null;
  loraA!: tfl.LayerVariable;
  loraB!: tfl.LayerVariable;

  constructor(args: LoraDenseArgs) {
    super(args as ConstructorParameters<typeof tfl.layers.Layer>[0]);
    if (!(args.units > 0) || !(args.rank > 0)) {
      throw new Error('LoraDense: units and rank must be positive integers');
    }
    this.units = args.units;
    this.rank = args.rank;
    this.alpha = args.alpha ?? args.rank;
    this.activationName = args.activation ?? 'linear';
    if (!activations[this.activationName]) {
      throw new Error(`LoraDense: unknown activation '${this.activationName}'`);
    }
    this.useBias = args.useBias ?? true;
  }

  get scale(): number {
    return this.alpha / this.rank;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inDim = s[s.length - 1] as number;
    const glorot = tfl.initializers.glorotUniform({});
    // The base weights are frozen: only the adapters are trainable.
    this.kernel = this.addWeight(
      'kernel',
      [inDim, this.units],
      'float32',
      glorot,
      undefined,
      false,
    );
    if (this.useBias) {
      this.bias = this.addWeight(
        'bias',
        [this.units],
        'float32',
        tfl.initializers.zeros(),
        undefined,
        false,
      );
    }
    this.loraA = this.addWeight(
      'lora_A',
      [inDim, this.rank],
      'float32',
      tfl.initializers.randomNormal({ stddev: 1 / Math.sqrt(inDim) }),
      undefined,
      true,
    );
    // B = 0 at initialisation, as in LoRA: the adapted layer starts equal to the base layer.
    this.loraB = this.addWeight(
      'lora_B',
      [this.rank, this.units],
      'float32',
      tfl.initializers.zeros(),
      undefined,
      true,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [...s.slice(0, -1), this.units];
  }

  /** Pre-activation x W + b + (x A) B · scale for any input rank. */
  preActivation(x: tf.Tensor): { z: tf.Tensor; h: tf.Tensor } {
    const inDim = x.shape[x.shape.length - 1];
    const x2 = tf.reshape(x, [-1, inDim]);
    const h = tf.mul(tf.matMul(x2, this.loraA.read() as tf.Tensor2D), this.scale);
    let z = tf.add(
      tf.matMul(x2, this.kernel.read() as tf.Tensor2D),
      tf.matMul(h, this.loraB.read() as tf.Tensor2D),
    );
    if (this.bias) z = tf.add(z, this.bias.read());
    const lead = x.shape.slice(0, -1);
    return {
      z: tf.reshape(z, [...lead, this.units]),
      h: tf.reshape(h, [...lead, this.rank]),
    };
  }

  activate(z: tf.Tensor): tf.Tensor {
    return activations[this.activationName](z);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return this.activate(this.preActivation(x).z);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      rank: this.rank,
      alpha: this.alpha,
      activation: this.activationName,
      useBias: this.useBias,
    };
  }
}

tf.serialization.registerClass(LoraDense);

/** Convenience factory, in the style of tf.layers.dense. */
export function loraDense(args: LoraDenseArgs): LoraDense {
  return new LoraDense(args);
}
