/**
 * Worker processes for tests that kill them: each is `node --import tsx workers/workerProcess.ts`
 * (createWorker on a task queue, run until SIGTERM), configured by the environment given.
 */
export {
  spawnWorkerProcess,
  type WorkerProcess,
  type WorkerProcessOptions,
} from '../../workers/spawnWorkers';
