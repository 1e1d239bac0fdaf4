import { denseBlocks, denseForward, denseInputGrad, denseProbeShape } from './denseCore';
import { denseSequenceHandler } from './denseSequence';
import type { LayerHandler } from './handler';

/**
 * Dense on 2-D input: G_i = a_i ⊗ δ_i (a with a trailing 1 for the bias). N-D input is a Dense
 * over a sequence (denseSequence.ts).
 */
export const denseHandler: LayerHandler = {
  probeShape: denseProbeShape,
  forward(layer, x, probe) {
    if (x.rank !== 2) return denseSequenceHandler.forward(layer, x, probe);
    return denseForward(layer, x, probe);
  },
  blocks: denseBlocks,
  inputGrad: denseInputGrad,
};
