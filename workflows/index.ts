export { attribute, progressQuery, shardDoneSignal } from './attribute';
export { attributeShards } from './attributeShards';
export { smokeWorkflow } from './smoke';
