/**
 * bench:import — `tda import` of a large CSV with a header: generates N rows (default 5 million)
 * of an integer id, 8 numeric columns, 2 categorical columns (6 and 24 values) and a 3-class
 * label, streams them to a temporary file, imports them (two passes: fit the encoding, then
 * encode and write 10,000-row Arrow parts) into a local store or `--store URI`, and reports rows/s
 * and the process's peak RSS. Memory must not grow with N: run it at two sizes to see.
 *
 *   npm run bench:import -- [--rows 5000000] [--store s3://bucket/prefix] [--keep]
 *
 * Last line: one JSON object.
 */

import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { importData } from '../lib/data/import/importData';
import { Rng } from '../lib/data/rng';
import { openStore } from '../lib/store/openStore';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    store: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer`);

const SHAPES = ['circle', 'square', 'triangle', 'hexagon', 'star', 'ring'];
const CITIES = Array.from({ length: 24 }, (_, i) => `city-${String.fromCharCode(97 + i)}`);
const LABELS = ['low', 'mid', 'high'];

const maxRssMb = () => process.resourceUsage().maxRSS / 1024;

async function generate(path: string): Promise<number> {
  const rng = new Rng(7);
  const out = createWriteStream(path);
  const header = ['id', ...Array.from({ length: 8 }, (_, j) => `f${j}`), 'shape', 'city', 'label'];
  let buf = `${header.join(',')}\n`;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    let line = String(i);
    for (let j = 0; j < 8; j++) {
      const v = (rng.next() - 0.5) * 4 * (j + 1) + j;
      s += v / (j + 1);
      line += `,${v.toFixed(4)}`;
    }
    const shape = SHAPES[rng.int(SHAPES.length)];
    const city = CITIES[rng.int(CITIES.length)];
    line += `,${shape},${city},${LABELS[s < 6 ? 0 : s < 10 ? 1 : 2]}\n`;
    buf += line;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return statSync(path).size;
}

const dir = mkdtempSync(join(tmpdir(), 'tda-bench-import-'));
try {
  const csv = join(dir, 'big.csv');
  let t = performance.now();
  const bytes = await generate(csv);
  const genSeconds = (performance.now() - t) / 1000;
  const rssAfterGenerate = maxRssMb();
  console.log(
    `generated ${rows.toLocaleString('en-US')} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${genSeconds.toFixed(1)} s`,
  );
  const store = openStore(loadConfig(), values.store ?? join(dir, 'store'));
  t = performance.now();
  const r = await importData(csv, store, 'bench-import', { label: 'label', id: 'id' });
  const seconds = (performance.now() - t) / 1000;
  const peak = maxRssMb();
  console.log(
    `imported ${r.info.rows.toLocaleString('en-US')} rows → shape [${r.info.shape}] in ${r.info.parts.length} parts, ${seconds.toFixed(1)} s (${Math.round(rows / seconds).toLocaleString('en-US')} rows/s), peak RSS ${peak.toFixed(0)} MiB`,
  );
  console.log(
    JSON.stringify({
      bench: 'import',
      rows,
      csv_mib: Number((bytes / 2 ** 20).toFixed(1)),
      features: r.info.shape[0],
      parts: r.info.parts.length,
      seconds: Number(seconds.toFixed(2)),
      rows_per_s: Math.round(rows / seconds),
      peak_rss_mb: Number(peak.toFixed(1)),
      rss_after_generate_mb: Number(rssAfterGenerate.toFixed(1)),
      store: store.uri,
      node: process.version,
    }),
  );
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
