export { attribute, progressQuery, shardDoneSignal } from './attribute';
export { attributeShards } from './attributeShards';
export { audit, auditProgressQuery } from './audit';
export { smokeWorkflow } from './smoke';
