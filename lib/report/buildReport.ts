import * as tf from '@tensorflow/tfjs-core';
import { readColumn, readTable } from '../arrow/columns';
import type { Dataset } from '../data/dataset';
import {
  type PartitionedInfo,
  readAllParts,
  readFlipped,
  readPart,
  readPartitionedInfo,
} from '../data/partitionedDataset';
import { type MislabelReport, mislabelReport } from '../eval/mislabel';
import { loadModel } from '../model/storeIO';
import { inputTensor } from '../pipeline/featurizeDataset';
import { DEFAULT_SELF_SCORE, selfScoreName } from '../pipeline/runSpec';
import type { Plan, RunSummary } from '../pipeline/types';
import { topIndices } from '../reduce/topK';
import { getJson, type ObjectStore } from '../store/objectStore';
import type { ReportData, ReportExample, ReportImage, ReportQuery } from './renderReport';

export interface BuildReportOptions {
  /** Queries shown (each with its top proponents and opponents). */
  queries?: number;
  /** Proponents and opponents shown per query. */
  perQuery?: number;
  /** Suspected mislabels listed. */
  mislabels?: number;
  title?: string;
}

export interface BuiltReport {
  data: ReportData;
  /** Present when the training set records which labels were flipped. */
  detection?: MislabelReport & { flippedTotal: number };
}

/**
 * Gathers what the report shows from a committed run: the ranked lists, the self-influence
 * ranking, the examples themselves (pixels or text) and the final model's predictions. Reads
 * only the training parts that hold a shown example, plus every part's labels when flipped
 * ground truth is recorded.
 */
export async function buildReport(
  store: ObjectStore,
  summary: RunSummary,
  opts: BuildReportOptions = {},
): Promise<BuiltReport> {
  const perQuery = opts.perQuery ?? 6;
  const plan = await getJson<Plan>(store, summary.files.plan);
  const trainInfo = await readPartitionedInfo(store, plan.train.prefix);
  const queries = await readAllParts(store, plan.query.prefix);
  const model = await loadModel(store, plan.checkpoints[plan.checkpoints.length - 1].key);

  const topk = readTable(await store.get(summary.files.topk), 'topk.arrow');
  const q = readColumn<Int32Array>(topk, 'query', 'int32').values;
  const kind = readColumn<Int32Array>(topk, 'kind', 'int32').values;
  const rank = readColumn<Int32Array>(topk, 'rank', 'int32').values;
  const index = readColumn<Int32Array>(topk, 'index', 'int32').values;
  const score = readColumn<Float64Array>(topk, 'score', 'float64').values;
  const examples = readTable(await store.get(summary.files.examples), 'examples.arrow');
  const selfInfluence = readColumn<Float64Array>(examples, 'self_influence', 'float64').values;
  const aggregate = readColumn<Float64Array>(examples, 'aggregate', 'float64').values;

  const shownQueries = Math.min(opts.queries ?? 12, plan.query.rows);
  const suspects = topIndices(selfInfluence, Math.min(opts.mislabels ?? 40, selfInfluence.length));
  const wanted = new Set<number>(suspects);
  for (let r = 0; r < q.length; r++)
    if (q[r] < shownQueries && rank[r] < perQuery) wanted.add(index[r]);

  const rows = await TrainingRows.load(store, plan.train.prefix, trainInfo, wanted);
  const qPred = predict(model, queries, 0, shownQueries);
  const suspectPred = predictRows(model, rows, suspects);
  model.dispose();

  const example = (i: number, s?: number): ReportExample => ({
    id: i,
    key: rows.key(i),
    score: s,
    label: rows.label(i),
    flipped: rows.flipped(i),
    ...rows.content(i),
  });
  const reportQueries: ReportQuery[] = [];
  for (let qi = 0; qi < shownQueries; qi++) {
    const proponents: ReportExample[] = [];
    const opponents: ReportExample[] = [];
    for (let r = 0; r < q.length; r++) {
      if (q[r] !== qi || rank[r] >= perQuery) continue;
      (kind[r] === 1 ? proponents : opponents)[rank[r]] = example(index[r], score[r]);
    }
    reportQueries.push({
      id: queries.ids[qi],
      key: queries.keys?.[qi],
      givenLabel: queries.labels[qi] >= 0 ? queries.labels[qi] : undefined,
      predictedLabel: qPred[qi],
      ...contentOf(queries, qi),
      proponents,
      opponents,
    });
  }

  let detection: BuiltReport['detection'];
  const flippedAll = (await readFlipped(store, plan.train.prefix, trainInfo))?.flipped;
  if (flippedAll) {
    const r = mislabelReport(
      selfInfluence,
      Array.from(flippedAll, (f) => f === 1),
    );
    detection = { ...r, flippedTotal: flippedAll.reduce((s, f) => s + f, 0) };
  }

  const data: ReportData = {
    title: opts.title ?? `Training-data attribution: ${trainInfo.name}`,
    classes: trainInfo.classes,
    run: {
      method: methodName(plan.spec.method),
      modelHash: plan.checkpoints[plan.checkpoints.length - 1].hash,
      trainCount: plan.train.rows,
      queryCount: plan.query.rows,
      checkpoints: plan.checkpoints.length,
      dataset: trainInfo.name,
      createdAt: new Date().toISOString(),
      extra: { run: summary.runPrefix, projector: JSON.stringify(plan.spec.projector) },
    },
    queries: reportQueries,
    warnings: plan.warnings,
    distributions: [
      { name: 'Self-influence (all training examples)', values: selfInfluence },
      { name: 'Aggregate influence on the query set', values: aggregate },
    ],
    mislabels: {
      method: selfScoreName(plan.spec.selfScore ?? DEFAULT_SELF_SCORE),
      rows: suspects.map((i, k) => ({
        ...example(i, selfInfluence[i]),
        score: selfInfluence[i],
        givenLabel: rows.label(i) as number,
        predictedLabel: suspectPred[k],
        originalLabel: rows.originalLabel(i),
      })),
      detection: detection && {
        flippedTotal: detection.flippedTotal,
        inspected: detection.foundAt.map((f) => ({
          fraction: f.fraction,
          found: Math.round(f.found * detection!.flippedTotal),
        })),
        auc: detection.auc,
      },
    },
  };
  return { data, detection };
}

function methodName(m: string): string {
  return { tracin: 'TracIn-CP', gradDot: 'Grad-Dot', gradCos: 'Grad-Cos' }[m] ?? m;
}

function contentOf(ds: Dataset, i: number): { image?: ReportImage; text?: string } {
  if (ds.text?.[i] !== undefined) return { text: ds.text[i] };
  if (ds.kind === 'image' && ds.x) {
    const [h, w, c] = ds.shape;
    const d = h * w * (c ?? 1);
    return {
      image: {
        width: w,
        height: h,
        channels: (c ?? 1) as 1 | 3,
        pixels: ds.x.subarray(i * d, (i + 1) * d),
      },
    };
  }
  return {};
}

function predict(
  model: import('@tensorflow/tfjs-layers').LayersModel,
  ds: Dataset,
  start: number,
  end: number,
): number[] {
  if (end <= start) return [];
  return tf.tidy(() => {
    const out = model.predict(inputTensor(model, ds, start, end)) as tf.Tensor;
    return Array.from(tf.argMax(out, 1).dataSync());
  });
}

function predictRows(
  model: import('@tensorflow/tfjs-layers').LayersModel,
  rows: TrainingRows,
  ids: number[],
): number[] {
  return ids.map((i) => {
    const { ds, row } = rows.at(i);
    return predict(model, ds, row, row + 1)[0];
  });
}

/** Training examples by global row index, loading only the parts that hold them. */
class TrainingRows {
  private constructor(
    private readonly parts: Map<number, Dataset>,
    private readonly starts: number[],
  ) {}

  static async load(
    store: ObjectStore,
    prefix: string,
    info: PartitionedInfo,
    wanted: Set<number>,
  ) {
    const starts: number[] = [];
    let o = 0;
    for (const p of info.parts) {
      starts.push(o);
      o += p.rows;
    }
    const parts = new Map<number, Dataset>();
    for (const i of wanted) {
      const p = partOf(starts, i);
      if (!parts.has(p)) parts.set(p, await readPart(store, prefix, info, p));
    }
    return new TrainingRows(parts, starts);
  }

  at(i: number): { ds: Dataset; row: number } {
    const p = partOf(this.starts, i);
    const ds = this.parts.get(p);
    if (!ds) throw new Error(`training row ${i} was not loaded`);
    return { ds, row: i - this.starts[p] };
  }

  label(i: number): number | undefined {
    const { ds, row } = this.at(i);
    return ds.labels[row];
  }

  key(i: number): string | undefined {
    const { ds, row } = this.at(i);
    return ds.keys?.[row];
  }

  flipped(i: number): boolean | undefined {
    const { ds, row } = this.at(i);
    return ds.flipped ? ds.flipped[row] === 1 : undefined;
  }

  originalLabel(i: number): number | undefined {
    const { ds, row } = this.at(i);
    return ds.originalLabels?.[row];
  }

  content(i: number) {
    const { ds, row } = this.at(i);
    return contentOf(ds, row);
  }
}

function partOf(starts: number[], i: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
