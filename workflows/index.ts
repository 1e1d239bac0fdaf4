export { attribute, progressQuery, shardDoneSignal } from './attribute';
export { attributeShards } from './attributeShards';
export { audit, auditProgressQuery } from './audit';
export { evaluate } from './evaluate';
export { furtherTraining, furtherTrainingRuns, goldProgressQuery } from './furtherTraining';
export { smokeWorkflow } from './smoke';
