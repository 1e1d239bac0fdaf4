import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadConfig } from '../../lib/config';
import type { RunSummary } from '../../lib/pipeline/types';
import { buildReport } from '../../lib/report/buildReport';
import { renderReport } from '../../lib/report/renderReport';
import { readManifest } from '../../lib/store/commit';
import { openStore } from '../../lib/store/openStore';
import { ensureBackend } from '../../workers/worker';
import {
  type Command,
  numberOption,
  type OptionTable,
  optionsHelp,
  storeOption,
  UsageError,
} from '../command';

const options = {
  out: { type: 'string', arg: 'FILE', help: 'the HTML file (default out/<run>/report.html)' },
  queries: { type: 'string', arg: 'N', help: 'queries shown (default 12)' },
  'per-query': {
    type: 'string',
    arg: 'N',
    help: 'proponents and opponents shown per query (default 6)',
  },
  store: storeOption,
} satisfies OptionTable;

const usage = `Usage: tda report RUN [--out FILE] [--queries N] [--per-query N] [--store URI]

Writes the static, self-contained HTML report of a committed run (RUN is its prefix, e.g.
runs/my-run/0d2c892522ee515d, as tda attribute prints): each query with its top proponents and
opponents, score distributions, suspected mislabels.
Options:
${optionsHelp(options)}`;

export const reportCommand: Command = {
  name: 'report',
  summary: 'write the HTML report of a committed run',
  usage,
  options,
  async run({ values, positionals }) {
    const run = positionals[0]?.replace(/\/+$/, '');
    if (!run) throw new UsageError(usage);
    const config = loadConfig();
    await ensureBackend(config);
    const store = openStore(config, values.store as string | undefined);
    const m = await readManifest<RunSummary>(store, run);
    if (!m) throw new Error(`no committed run at "${run}" in ${store.uri}`);
    const { data } = await buildReport(store, m.meta, {
      queries: numberOption(values, 'queries', 12),
      perQuery: numberOption(values, 'per-query', 6),
    });
    const file =
      (values.out as string | undefined) ?? `out/${run.replaceAll('/', '_')}/report.html`;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, renderReport(data));
    console.log(`report: ${file}`);
  },
};
