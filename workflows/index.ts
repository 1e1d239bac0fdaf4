export { attribute } from './attribute';
export { attributeShards } from './attributeShards';
export { audit } from './audit';
export { auditParts } from './auditParts';
export {
  auditProgressQuery,
  goldProgressQuery,
  progressQuery,
  runsDoneSignal,
  shardDoneSignal,
} from './definitions';
export { evaluate } from './evaluate';
export { furtherTraining, furtherTrainingRuns } from './furtherTraining';
export { selfScoreShards } from './selfScoreShards';
export { smokeWorkflow } from './smoke';
