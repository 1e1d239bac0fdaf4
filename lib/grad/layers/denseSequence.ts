import { denseBlocks, denseForward, denseInputGrad, denseProbeShape } from './denseCore';
import type { LayerHandler } from './handler';

/**
 * Dense over a sequence (input [batch, ...positions, in]): the kernel is applied at every
 * position, so G_i = Σ_t a_it ⊗ δ_it. The Dense handler dispatches here for N-D inputs.
 */
export const denseSequenceHandler: LayerHandler = {
  probeShape: denseProbeShape,
  forward: denseForward,
  blocks: denseBlocks,
  inputGrad: denseInputGrad,
};
