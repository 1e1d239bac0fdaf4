import type { ObjectStore } from '../lib/store/objectStore';
import { createAttributionActivities } from './attribution';
import { createAuditActivities } from './audit';
import { createEvaluateActivities } from './evaluate';
import { createFurtherTrainingActivities } from './furtherTraining';
import { createSmokeActivities } from './smoke';

export interface ActivityDeps {
  store: ObjectStore;
  /** Featurize rows per chunk; default CHUNK_ROWS (lib/pipeline/featurizeShard.ts). */
  chunkRows?: number;
}

/** Every activity the workers serve, built over their clients. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps.store),
    ...createAttributionActivities(deps.store, { chunkRows: deps.chunkRows }),
    ...createAuditActivities(deps.store),
    ...createFurtherTrainingActivities(deps.store),
    ...createEvaluateActivities(deps.store),
  };
}

export type Activities = ReturnType<typeof createActivities>;
