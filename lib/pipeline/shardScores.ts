import { z } from 'zod';
import { metadataOf, readColumn, readTable, writeColumns } from '../arrow/columns';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { jsonText, parseWith } from '../jsonText';
import { selfInfluence } from '../methods/selfInfluence';
import { addToAggregate } from '../reduce/aggregate';
import { TopKAccumulator, type TopKPartial } from '../reduce/topK';
import { rankedColumns } from './rankedColumns';
import { PIPELINE_METHODS, type PipelineMethod } from './runSpec';
import { tensorScoreBlocks } from './tensorScores';

/**
 * Scoring one training shard against every query: the partial results the reduce stage merges.
 * Memory is queries × shard rows, never the data set's size.
 */
export interface ShardScores {
  offset: number;
  rows: number;
  topk: TopKPartial;
  /** Σ over queries of each example's score. */
  aggregate: Float64Array;
  /** TracIn self-influence Σ_c η_c ‖g_i(θ_c)‖² (exact norms). */
  selfInfluence: Float64Array;
}

export async function scoreShardFeatures(args: {
  method: string;
  query: ExampleFeatures[];
  train: ExampleFeatures[];
  checkpoints: CheckpointInfo[];
  topK: number;
  offset: number;
}): Promise<ShardScores> {
  if (!(PIPELINE_METHODS as readonly string[]).includes(args.method)) {
    throw new Error(`unknown pipeline method "${args.method}"`);
  }
  const nq = args.query[0].grads.rows;
  const nt = args.train[0].grads.rows;
  const topk = new TopKAccumulator(nq, args.topK);
  const aggregate = new Float64Array(nt);
  // Folded a block of queries at a time: the shard's full score matrix is never held.
  await tensorScoreBlocks(
    args.method as PipelineMethod,
    args.train,
    args.query,
    args.checkpoints,
    (q0, r0, block) => {
      topk.addScores(block, args.offset + r0, undefined, q0);
      addToAggregate(aggregate.subarray(r0, r0 + block.train), block, args.offset + r0, q0);
    },
  );
  return {
    offset: args.offset,
    rows: nt,
    topk: topk.toJSON(),
    aggregate,
    selfInfluence: selfInfluence(args.train, args.checkpoints, 'exact'),
  };
}

/** Partial results as one Arrow file: ranked lists in long form, per-example vectors. */
export function writeShardScores(s: ShardScores): { ranked: Uint8Array; examples: Uint8Array } {
  const long = rankedColumns(s.topk);
  const ranked = writeColumns(long.rows, long.columns, {
    'tda.topk': JSON.stringify({ k: s.topk.k, queries: s.topk.queries }),
  });
  const examples = writeColumns(
    s.rows,
    {
      index: { values: Int32Array.from({ length: s.rows }, (_, j) => s.offset + j) },
      aggregate: { values: s.aggregate },
      self_influence: { values: s.selfInfluence },
    },
    { 'tda.offset': String(s.offset) },
  );
  return { ranked, examples };
}

const topkMetadata = z.object({
  'tda.topk': jsonText(z.object({ k: z.number().int().min(0), queries: z.number().int().min(0) })),
});

export function readShardScores(ranked: Uint8Array, examples: Uint8Array): ShardScores {
  const rt = readTable(ranked, 'ranked partial');
  const { k, queries } = parseWith(topkMetadata, metadataOf(rt), 'ranked partial: schema metadata')[
    'tda.topk'
  ];
  const q = readColumn<Int32Array>(rt, 'query', 'int32').values;
  const kind = readColumn<Int32Array>(rt, 'kind', 'int32').values;
  const index = readColumn<Int32Array>(rt, 'index', 'int32').values;
  const score = readColumn<Float64Array>(rt, 'score', 'float64').values;
  const empty = () =>
    Array.from({ length: queries }, () => ({ index: [] as number[], score: [] as number[] }));
  const proponents = empty();
  const opponents = empty();
  for (let r = 0; r < q.length; r++) {
    const list = kind[r] === 1 ? proponents[q[r]] : opponents[q[r]];
    list.index.push(index[r]);
    list.score.push(score[r]);
  }
  const et = readTable(examples, 'examples partial');
  const offset = Number(metadataOf(et)['tda.offset']);
  return {
    offset,
    rows: et.numRows,
    topk: { k, queries, proponents, opponents },
    aggregate: readColumn<Float64Array>(et, 'aggregate', 'float64').values,
    selfInfluence: readColumn<Float64Array>(et, 'self_influence', 'float64').values,
  };
}
