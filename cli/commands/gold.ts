import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../lib/config';
import type { GoldSummary } from '../../lib/gold/goldJob';
import { connectClient } from '../../workers/connection';
import { startWorkerProcesses, workerLayoutOptions } from '../../workers/spawnWorkers';
import { evaluate, furtherTraining } from '../../workflows';
import { goldProgressQuery } from '../../workflows/definitions';
import type { EvaluateInput, EvaluateSummary } from '../../workflows/evaluate';
import type { FurtherTrainingInput } from '../../workflows/furtherTraining';
import { workflowUrl } from '../attributeRun';
import { type Command, numberOption, requireString, UsageError } from '../command';
import { workflowResult } from '../workflowFailure';

async function readJob<T>(file: string): Promise<T> {
  const text = await readFile(file, 'utf8');
  try {
    return (file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as T;
  } catch (e) {
    throw new UsageError(
      `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`,
    );
  }
}

const goldUsage = `Usage: tda gold --job FILE [--workers N]

Runs the further-training gold standard (final-model-only setting) as the furtherTraining
workflow: for each seed a baseline run from the final model and one run per selected training
example with it removed (or upweighted by ε), same minibatch order and dropout masks; records
the test function on every query at each step count T; averages over seeds with standard errors.
Each run checkpoints to the store, heartbeats and resumes after a crash. The job file (YAML or
JSON) holds: modelPrefix, trainKey, queryKey (data set prefixes as tda import writes them,
or single Arrow files), outputPrefix, training {learningRate, batchSize,
optimizer?}, steps [T...], seeds [...], examples? [...], mode? {kind: remove | upweight,
epsilon}, checkpointEvery?, testFunction?.
  --workers N              also start N local compute worker processes (default 0)`;

export const gold: Command = {
  name: 'gold',
  summary: 'the further-training gold standard (retry-safe, resumable runs) on Temporal',
  usage: goldUsage,
  options: { job: { type: 'string' }, workers: { type: 'string' } },
  async run({ values }) {
    const job = await readJob<FurtherTrainingInput>(requireString(values, 'job', goldUsage));
    const config = loadConfig();
    const n = numberOption(values, 'workers', 0);
    const pool = n > 0 ? await startWorkerProcesses(n, workerLayoutOptions(config, n)) : undefined;
    const client = await connectClient(config);
    try {
      const workflowId = `gold-${randomUUID().slice(0, 8)}`;
      const handle = await client.workflow.start(furtherTraining, {
        taskQueue: config.taskQueues.cpu,
        workflowId,
        args: [job],
      });
      console.log(`workflow ${workflowId}: ${workflowUrl(config, workflowId)}`);
      const timer = setInterval(async () => {
        try {
          const p = await handle.query(goldProgressQuery);
          process.stderr.write(`${p.stage}: ${p.runsDone}/${p.runsTotal} runs\n`);
        } catch {
          // Not started yet.
        }
      }, 5000);
      const summary = await workflowResult<GoldSummary>(handle, config).finally(() =>
        clearInterval(timer),
      );
      console.log(JSON.stringify(summary, null, 1));
    } finally {
      await client.connection.close();
      await pool?.stop();
    }
  },
};

const evalUsage = `Usage: tda eval --job FILE

Agreement of each method's scores with a committed gold standard (the evaluate workflow): cosine
similarity and Spearman correlation per query, averaged over queries, with bootstrap confidence
intervals, for each T; Arrow + JSON tables and SVG charts under outputPrefix. The job file (YAML
or JSON): goldPrefix, outputPrefix, methods [{name, key}] (score files, lib/eval/scoreFile.ts),
resamples?, seed?, confidence?.`;

export const evalCommand: Command = {
  name: 'eval',
  summary: "measure each method's agreement with the gold standard, with bootstrap CIs",
  usage: evalUsage,
  options: { job: { type: 'string' } },
  async run({ values }) {
    const job = await readJob<EvaluateInput>(requireString(values, 'job', evalUsage));
    const config = loadConfig();
    const client = await connectClient(config);
    try {
      const workflowId = `eval-${randomUUID().slice(0, 8)}`;
      const handle = await client.workflow.start(evaluate, {
        taskQueue: config.taskQueues.cpu,
        workflowId,
        args: [job],
      });
      const summary = await workflowResult<EvaluateSummary>(handle, config);
      for (const r of summary.rows) {
        console.log(
          `${r.method.padEnd(14)} T=${String(r.step).padStart(5)}  cosine ${r.cosine.toFixed(3)} ` +
            `[${r.cosineCI.map((v) => v.toFixed(3)).join(', ')}]  spearman ${r.spearman.toFixed(3)}`,
        );
      }
      console.log(`results: ${summary.prefix} (${summary.manifestKey})`);
    } finally {
      await client.connection.close();
    }
  },
};
