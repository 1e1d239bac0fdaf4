import { z } from 'zod';
import { metadataOf, readColumn, readTable, writeColumns } from '../arrow/columns';
import { jsonText, parseWith } from '../jsonText';

/**
 * A method's dense scores for evaluation: queries × examples, as an Arrow file (one row per query,
 * a FixedSizeList `score` column, the example indices in the metadata) or as JSON
 * `{ "scores": number[][], "examples"?: number[] }`.
 */
export interface ScoreMatrix {
  queries: number;
  /** Training-example index of each column, when the file says. */
  examples?: number[];
  /** queries × examples, row-major. */
  scores: Float64Array;
  columns: number;
}

export function writeScoreMatrix(
  scores: ArrayLike<number>,
  queries: number,
  examples: number[],
): Uint8Array {
  const m = examples.length;
  if (scores.length !== queries * m) {
    throw new Error(`scores has ${scores.length} values, expected ${queries} × ${m}`);
  }
  return writeColumns(
    queries,
    { score: { values: Float64Array.from(scores), width: m } },
    { kind: 'scores', examples: JSON.stringify(examples) },
  );
}

function checkExamples(examples: unknown, columns: number, what: string): number[] | undefined {
  if (examples === undefined) return undefined;
  if (!Array.isArray(examples) || examples.some((i) => !Number.isInteger(i))) {
    throw new Error(`${what}: examples must be a list of integer indices`);
  }
  if (examples.length !== columns) {
    throw new Error(`${what} names ${examples.length} examples but has ${columns} score columns`);
  }
  return examples as number[];
}

export function readScoreMatrix(bytes: Uint8Array, what = 'score file'): ScoreMatrix {
  const text = bytes[0] === 0x7b ? new TextDecoder().decode(bytes) : undefined;
  if (text !== undefined) {
    let doc: { scores?: unknown; examples?: unknown };
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(`${what} is not valid JSON: ${(e as Error).message}`);
    }
    const rows = doc.scores;
    if (!Array.isArray(rows) || rows.length === 0 || !rows.every(Array.isArray)) {
      throw new Error(`${what}: "scores" must be a non-empty list of per-query lists`);
    }
    const columns = (rows[0] as unknown[]).length;
    const scores = new Float64Array(rows.length * columns);
    rows.forEach((row: unknown[], j) => {
      if (row.length !== columns) {
        throw new Error(`${what}: query ${j} has ${row.length} scores, query 0 has ${columns}`);
      }
      row.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new Error(`${what}: score of query ${j}, column ${i} is ${v}, not a finite number`);
        }
        scores[j * columns + i] = v;
      });
    });
    const examples = checkExamples(doc.examples, columns, what);
    return { queries: rows.length, columns, scores, ...(examples ? { examples } : {}) };
  }
  const table = readTable(bytes, what);
  const field = table.schema.fields.find((f) => f.name === 'score');
  if (!field) throw new Error(`${what} has no column "score"`);
  const isF64 = String(field.type).includes('Float64');
  const col = readColumn<Float32Array | Float64Array>(
    table,
    'score',
    isF64 ? 'float64' : 'float32',
    what,
  );
  const scores = Float64Array.from(col.values);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new Error(
        `${what}: score of query ${Math.floor(i / col.width)}, column ${i % col.width} is ${scores[i]}`,
      );
    }
  }
  const meta = metadataOf(table);
  const examples = checkExamples(
    meta.examples === undefined
      ? undefined
      : parseWith(jsonText(z.unknown()), meta.examples, `${what}: metadata "examples"`),
    col.width,
    what,
  );
  return {
    queries: table.numRows,
    columns: col.width,
    scores,
    ...(examples ? { examples } : {}),
  };
}

/**
 * The scores with columns in the order of `examples` (the gold standard's). A file without
 * example indices must already have exactly those columns in that order.
 */
export function alignScores(s: ScoreMatrix, examples: number[], what = 'score file'): Float64Array {
  const m = examples.length;
  if (!s.examples) {
    if (s.columns !== m) {
      throw new Error(`${what} has ${s.columns} score columns, the gold standard ${m} examples`);
    }
    return s.scores;
  }
  const col = new Map(s.examples.map((e, i) => [e, i]));
  const out = new Float64Array(s.queries * m);
  examples.forEach((e, k) => {
    const i = col.get(e);
    if (i === undefined) throw new Error(`${what} has no scores for training example ${e}`);
    for (let j = 0; j < s.queries; j++) out[j * m + k] = s.scores[j * s.columns + i];
  });
  return out;
}
