import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../lib/config';
import { evalJobSchema, parseEvalJob } from '../../lib/eval/evalJobSpec';
import type { GoldSummary } from '../../lib/gold/goldJob';
import { goldJobSchema, parseGoldJob } from '../../lib/gold/goldJobSpec';
import { parseSpecFile } from '../../lib/pipeline/specFile';
import { connectClient } from '../../workers/connection';
import { startWorkerProcesses, workerLayoutOptions } from '../../workers/spawnWorkers';
import { evaluate, furtherTraining } from '../../workflows';
import { goldProgressQuery } from '../../workflows/definitions';
import type { EvaluateInput, EvaluateSummary } from '../../workflows/evaluate';
import type { FurtherTrainingInput } from '../../workflows/furtherTraining';
import { workflowUrl } from '../attributeRun';
import {
  type Command,
  numberOption,
  type OptionTable,
  optionsHelp,
  requireString,
} from '../command';
import { specFieldsHelp } from '../specHelp';
import { workflowResult } from '../workflowFailure';

/** A job file (YAML or JSON) parsed by its schema: errors name the file and the field. */
async function readJob<T>(file: string, parse: (value: unknown) => T): Promise<T> {
  return parseSpecFile(await readFile(file, 'utf8'), file, parse);
}

const goldOptions = {
  job: { type: 'string', arg: 'FILE', help: 'the job, YAML or JSON (fields below; required)' },
  workers: {
    type: 'string',
    arg: 'N',
    help: 'also start N local compute worker processes (default 0)',
  },
} satisfies OptionTable;

const goldUsage = `Usage: tda gold --job FILE [--workers N]

Runs the further-training gold standard (final-model-only setting) as the furtherTraining
workflow: for each seed a baseline run from the final model and one run per selected training
example with it removed (or upweighted by ε), same minibatch order and dropout masks; records
the test function on every query at each step count T; averages over seeds with standard errors.
Each run checkpoints to the store, heartbeats and resumes after a crash. trainKey and queryKey
are data set prefixes as tda import writes them, or single Arrow files. Job fields:
${specFieldsHelp(goldJobSchema)}
Options:
${optionsHelp(goldOptions)}`;

export const gold: Command = {
  name: 'gold',
  summary: 'the further-training gold standard (retry-safe, resumable runs) on Temporal',
  usage: goldUsage,
  options: goldOptions,
  async run({ values }) {
    const job: FurtherTrainingInput = await readJob(
      requireString(values, 'job', goldUsage),
      parseGoldJob,
    );
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

const evalOptions = {
  job: { type: 'string', arg: 'FILE', help: 'the job, YAML or JSON (fields below; required)' },
} satisfies OptionTable;

const evalUsage = `Usage: tda eval --job FILE

Agreement of each method's scores with a committed gold standard (the evaluate workflow): cosine
similarity and Spearman correlation per query, averaged over queries, with bootstrap confidence
intervals, for each T; Arrow + JSON tables and SVG charts under outputPrefix. Each method's key
names a score file (lib/eval/scoreFile.ts). Job fields:
${specFieldsHelp(evalJobSchema)}
Options:
${optionsHelp(evalOptions)}`;

export const evalCommand: Command = {
  name: 'eval',
  summary: "measure each method's agreement with the gold standard, with bootstrap CIs",
  usage: evalUsage,
  options: evalOptions,
  async run({ values }) {
    const job: EvaluateInput = await readJob(requireString(values, 'job', evalUsage), parseEvalJob);
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
