import { randomUUID } from 'node:crypto';
import type { Config } from '../lib/config';
import { connectClient } from '../workers/connection';
import { createWorker } from '../workers/worker';
import { smokeWorkflow } from '../workflows';

/** Runs the smoke workflow with an in-process worker and prints what came back. */
export async function runSmoke(config: Config): Promise<void> {
  const taskQueue = `smoke-${randomUUID()}`;
  const client = await connectClient(config);
  const worker = await createWorker(config, { taskQueue });
  const input = { prefix: `smoke/${randomUUID()}`, rows: 10_000, dim: 128, seed: 1 };
  const workflowId = `smoke-${randomUUID()}`;
  const t0 = performance.now();
  const result = await worker.runUntil(
    client.workflow.execute(smokeWorkflow, { taskQueue, workflowId, args: [input] }),
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `smoke workflow ${workflowId}: wrote ${result.bytes} bytes to s3://${config.s3.bucket}/${result.key}, ` +
      `read ${result.rows} rows back (zero-copy: ${result.zeroCopy}) in ${seconds.toFixed(2)} s`,
  );
  console.log(JSON.stringify({ ...result, seconds }));
  await client.connection.close();
}
