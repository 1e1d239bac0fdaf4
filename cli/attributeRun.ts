import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import type { RunSummary } from '../lib/pipeline/types';
import { attribute } from '../workflows';
import { progressQuery } from '../workflows/definitions';
import { createProgressPrinter } from './progress';
import { workflowResult, workflowUrl } from './workflowFailure';

export { workflowUrl };

/** Starts the attribute workflow and shows its progress until it finishes. */
export async function runAttribution(
  config: Config,
  client: Client,
  spec: RunSpecInput,
  opts: { featurizeQueue?: string; log?: (msg: string) => void } = {},
): Promise<{ summary: RunSummary; workflowId: string; seconds: number }> {
  const log = opts.log ?? console.log;
  const workflowId = `attribute-${spec.name}-${randomUUID().slice(0, 8)}`;
  const handle = await client.workflow.start(attribute, {
    taskQueue: config.taskQueues.cpu,
    workflowId,
    args: [{ spec, featurizeQueue: opts.featurizeQueue }],
  });
  log(`workflow ${workflowId}: ${workflowUrl(config, workflowId)}`);
  const t0 = performance.now();
  const printer = createProgressPrinter();
  let finished = false;
  const poll = (async () => {
    while (!finished) {
      try {
        printer.update(await handle.query(progressQuery), (performance.now() - t0) / 1000);
      } catch {
        // The first workflow task may not have run yet: nothing to show.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    const summary = await workflowResult<RunSummary>(handle, config);
    return { summary, workflowId, seconds: (performance.now() - t0) / 1000 };
  } finally {
    finished = true;
    await poll;
    printer.done();
  }
}
