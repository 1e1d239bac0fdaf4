import * as tfl from '@tensorflow/tfjs-layers';

/**
 * The model families the command line trains. Layer names are fixed (auto-generated names count
 * up per process and would change a model's content hash), initializers are seeded.
 */
export type Architecture =
  | { kind: 'mlp'; hidden: number[] }
  | { kind: 'cnn'; filters: number; dense: number }
  | { kind: 'text'; embedding: number };

export function buildModel(
  arch: Architecture,
  input: { shape: number[]; classes: number; vocabSize?: number },
  seed = 0,
): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 100 + k });
  const layers: tfl.layers.Layer[] = [];
  switch (arch.kind) {
    case 'mlp':
      // Flatten takes inputs of rank ≥ 3 (with the batch); tabular rows are flat already.
      if (input.shape.length > 1) {
        layers.push(tfl.layers.flatten({ name: 'flatten', inputShape: input.shape }));
      }
      for (const [i, units] of arch.hidden.entries()) {
        layers.push(
          tfl.layers.dense({
            name: `dense${i + 1}`,
            units,
            activation: 'relu',
            kernelInitializer: init(i),
            ...(i === 0 && input.shape.length === 1 ? { inputShape: input.shape } : {}),
          }),
        );
      }
      break;
    case 'cnn':
      layers.push(
        tfl.layers.conv2d({
          name: 'conv1',
          inputShape: input.shape,
          filters: arch.filters,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: init(0),
        }),
        tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
        tfl.layers.flatten({ name: 'flatten' }),
        tfl.layers.dense({
          name: 'dense1',
          units: arch.dense,
          activation: 'relu',
          kernelInitializer: init(1),
        }),
      );
      break;
    case 'text':
      if (!input.vocabSize) throw new Error('a text model needs the vocabulary size');
      layers.push(
        tfl.layers.embedding({
          name: 'embedding',
          inputDim: input.vocabSize,
          outputDim: arch.embedding,
          inputLength: input.shape[0],
          embeddingsInitializer: tfl.initializers.randomUniform({
            minval: -0.05,
            maxval: 0.05,
            seed,
          }),
        }),
        tfl.layers.globalAveragePooling1d({ name: 'pool' }),
      );
      break;
  }
  layers.push(
    tfl.layers.dense({
      name: 'logits',
      units: input.classes,
      kernelInitializer: init(99),
      // An MLP without hidden layers on tabular rows: logistic regression.
      ...(layers.length === 0 ? { inputShape: input.shape } : {}),
    }),
  );
  return tfl.sequential({ name: arch.kind, layers });
}
