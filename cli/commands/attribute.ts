import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../lib/config';
import { runInProcess } from '../../lib/pipeline/runInProcess';
import { runSpecSchema } from '../../lib/pipeline/runSpec';
import { parseSpecFile } from '../../lib/pipeline/specFile';
import { openStore } from '../../lib/store/openStore';
import { connectClient } from '../../workers/connection';
import { startWorkerProcesses, workerLayoutOptions } from '../../workers/spawnWorkers';
import { ensureBackend } from '../../workers/worker';
import { runAttribution } from '../attributeRun';
import {
  type Command,
  numberOption,
  type OptionTable,
  optionsHelp,
  requireString,
} from '../command';
import { specFieldsHelp } from '../specHelp';

const options = {
  spec: {
    type: 'string',
    arg: 'FILE',
    help: 'the run spec, YAML or JSON (fields below; required)',
  },
  workers: {
    type: 'string',
    arg: 'N',
    help: 'also start N local worker processes for this run (default 0: use\nthe workers already polling the task queue, started by tda worker)',
  },
  'in-process': {
    type: 'boolean',
    help: 'no Temporal: run every stage in this process (small jobs)',
  },
} satisfies OptionTable;

const usage = `Usage: tda attribute --spec FILE [--workers N] [--in-process]

Runs an attribution (YAML or JSON run spec, validated: errors name the field) through the
attribute workflow, with a progress bar, and prints where the results are and the Temporal web UI
link. Spec fields:
${specFieldsHelp(runSpecSchema)}

Options:
${optionsHelp(options)}`;

export const attributeCommand: Command = {
  name: 'attribute',
  summary: 'run an attribution from a YAML/JSON spec through Temporal, with progress',
  usage,
  options,
  async run({ values }) {
    const file = requireString(values, 'spec', usage);
    const spec = parseSpecFile(await readFile(file, 'utf8'), file);
    const config = loadConfig();
    if (values['in-process']) {
      await ensureBackend(config);
      const summary = await runInProcess(openStore(config), spec, console.log);
      console.log(
        `results: s3://${config.s3.bucket}/${summary.runPrefix}/ (${summary.manifestKey})`,
      );
      for (const w of summary.warnings ?? []) console.log(`warning: ${w}`);
      return;
    }
    const count = numberOption(values, 'workers', 0);
    const pool =
      count > 0 ? await startWorkerProcesses(count, workerLayoutOptions(config, count)) : undefined;
    const client = await connectClient(config);
    try {
      const { summary, seconds } = await runAttribution(config, client, spec);
      console.log(`done in ${seconds.toFixed(1)} s`);
      console.log(
        `results: s3://${config.s3.bucket}/${summary.runPrefix}/ (manifest ${summary.manifestKey})`,
      );
      console.log(`report:  tda report ${summary.runPrefix}`);
      for (const w of summary.warnings ?? []) console.log(`warning: ${w}`);
    } finally {
      await client.connection.close();
      await pool?.stop();
    }
  },
};
