import { z } from 'zod';
import { metadataOf, readColumn, readTable, writeColumns } from '../arrow/columns';
import { jsonText, parseWith } from '../jsonText';
import type { GoldStandard } from './furtherTraining';

/**
 * The gold standard as one Arrow IPC file in long form: a row per (T, query) with that query's
 * scores and standard errors over the examples as FixedSizeList<Float64>[m] columns. The example
 * indices, seeds and steps travel in the schema metadata.
 */
export function writeGoldStandard(g: GoldStandard, extra: Record<string, string> = {}): Uint8Array {
  const m = g.examples.length;
  const q = g.queries;
  const rows = g.steps.length * q;
  const step = new Int32Array(rows);
  const query = new Int32Array(rows);
  const score = new Float64Array(rows * m);
  const stderr = new Float64Array(rows * m);
  g.steps.forEach((t, ti) => {
    if (g.score[ti].length !== q * m || g.stderr[ti].length !== q * m) {
      throw new Error(
        `gold standard at T=${t} has ${g.score[ti].length} scores, expected ${q * m}`,
      );
    }
    for (let j = 0; j < q; j++) {
      step[ti * q + j] = t;
      query[ti * q + j] = j;
    }
    score.set(g.score[ti], ti * q * m);
    stderr.set(g.stderr[ti], ti * q * m);
  });
  return writeColumns(
    rows,
    {
      step: { values: step },
      query: { values: query },
      score: { values: score, width: m },
      stderr: { values: stderr, width: m },
    },
    {
      kind: 'gold-standard',
      steps: JSON.stringify(g.steps),
      examples: JSON.stringify(g.examples),
      seeds: JSON.stringify(g.seeds),
      queries: String(q),
      ...extra,
    },
  );
}

const integers = jsonText(z.array(z.number().int()));
const metadataSchema = z.object({
  steps: integers,
  examples: integers,
  seeds: integers,
  queries: z.string().regex(/^\d+$/, 'is not a whole number').transform(Number),
});

export function readGoldStandard(bytes: Uint8Array, what = 'gold standard file'): GoldStandard {
  const table = readTable(bytes, what);
  if (metadataOf(table).kind !== 'gold-standard') {
    throw new Error(`${what} is not a gold-standard file`);
  }
  const {
    steps,
    examples,
    seeds,
    queries: q,
  } = parseWith(metadataSchema, metadataOf(table), `${what}: schema metadata`);
  const m = examples.length;
  if (table.numRows !== steps.length * q) {
    throw new Error(`${what} has ${table.numRows} rows, expected ${steps.length} steps × ${q}`);
  }
  const score = readColumn<Float64Array>(table, 'score', 'float64', what);
  const stderr = readColumn<Float64Array>(table, 'stderr', 'float64', what);
  if (score.width !== m || stderr.width !== m) {
    throw new Error(`${what}: score rows hold ${score.width} values for ${m} examples`);
  }
  return {
    steps,
    examples,
    queries: q,
    seeds,
    score: steps.map((_, t) => score.values.slice(t * q * m, (t + 1) * q * m)),
    stderr: steps.map((_, t) => stderr.values.slice(t * q * m, (t + 1) * q * m)),
  };
}
