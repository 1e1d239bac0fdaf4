import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset';
import { readPart, readPartitionedInfo } from '../data/partitionedDataset';
import type { CheckpointInfo, ExampleFeatures } from '../features';
import { loadModel } from '../model/storeIO';
import type { PhaseMarks } from '../phaseTimes';
import { readCommitted } from '../store/commit';
import { getJson, type ObjectStore } from '../store/objectStore';
import { type FeatureFile, openFeatureFile } from './featureFile';
import { concatFeatures } from './featurizeDataset';
import { FEATURES_FILE } from './featurizeShard';
import type { InputRows } from './inputColumns';
import { featureKey } from './keys';
import type { Plan } from './types';

/**
 * What the stages share within one process: the store and small caches (plans, models, the query
 * features every score stage needs), so a worker serving many shards of a run loads each once.
 */
export class RunContext {
  private readonly plans = new Map<string, Plan>();
  private readonly models = new Map<string, Promise<tfl.LayersModel>>();
  private readonly queries = new Map<string, ExampleFeatures>();
  private readonly small = new Map<string, Promise<unknown>>();
  private readonly parts = new Map<string, Promise<Dataset>>();

  constructor(readonly store: ObjectStore) {}

  async plan(planKey: string): Promise<Plan> {
    let p = this.plans.get(planKey);
    if (!p) {
      p = await getJson<Plan>(this.store, planKey);
      this.plans.set(planKey, p);
    }
    return p;
  }

  /**
   * A small object every step of a run reads (its factored curvature), loaded once by key
   * (content-addressed, so never stale); a few are kept.
   */
  cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    let v = this.small.get(key) as Promise<T> | undefined;
    if (!v) {
      if (this.small.size >= 4) this.small.clear();
      v = load();
      this.small.set(key, v);
      v.catch(() => this.small.delete(key));
    }
    return v;
  }

  rememberPlan(planKey: string, plan: Plan): void {
    this.plans.set(planKey, plan);
  }

  /** A model by store prefix; a few stay loaded (one per checkpoint of the current run). */
  model(key: string): Promise<tfl.LayersModel> {
    let m = this.models.get(key);
    if (!m) {
      if (this.models.size >= 4) {
        const [oldest] = this.models.keys();
        void this.models.get(oldest)?.then((x) => x.dispose());
        this.models.delete(oldest);
      }
      m = loadModel(this.store, key);
      this.models.set(key, m);
      m.catch(() => this.models.delete(key));
    }
    return m;
  }

  /** Drops every cache and disposes the models loaded (a context used once, as warmUp's). */
  async dispose(): Promise<void> {
    const models = [...this.models.values()];
    this.models.clear();
    for (const m of await Promise.allSettled(models)) {
      if (m.status === 'fulfilled') m.value.dispose();
    }
    for (const cache of [this.plans, this.queries, this.small, this.parts]) cache.clear();
  }

  /**
   * Part `part` of the data set at `prefix`, read and checked (readPart). The last two read stay
   * decoded (few: a worker's peak memory is featurizing or scoring beside them): a shard is
   * featurized at every checkpoint, often on the same worker, and its score step reads the
   * inputs its feature files leave to the part. Keyed by the part's content hash, so never
   * stale.
   */
  async dataPart(prefix: string, part: number): Promise<Dataset> {
    const info = await readPartitionedInfo(this.store, prefix);
    const key = `${prefix}#${part}#${info.parts[part]?.sha256}`;
    let p = this.parts.get(key);
    if (p) {
      // Most recently used last: the oldest is the one dropped.
      this.parts.delete(key);
    } else {
      if (this.parts.size >= 2) this.parts.delete(this.parts.keys().next().value as string);
      const read = readPart(this.store, prefix, info, part);
      read.catch(() => {
        if (this.parts.get(key) === read) this.parts.delete(key);
      });
      p = read;
    }
    this.parts.set(key, p);
    return p;
  }

  featurePrefix(plan: Plan, set: 'train' | 'query', shard: number, c: number): string {
    return featureKey(plan.checkpoints[c].hash, plan.featureSpecHash, plan[set].shards[shard].hash);
  }

  async features(
    plan: Plan,
    set: 'train' | 'query',
    shard: number,
    c: number,
    times?: PhaseMarks,
  ): Promise<FeatureFile> {
    const bytes = await this.featureBytes(plan, set, shard, c);
    times?.mark('fetch');
    const f = await this.decodeFeatures(plan, set, shard, c, bytes);
    times?.mark('decode');
    return f;
  }

  /** A committed feature file's bytes (features() without the decoding). */
  featureBytes(plan: Plan, set: 'train' | 'query', shard: number, c: number): Promise<Uint8Array> {
    return readCommitted(this.store, this.featurePrefix(plan, set, shard, c), FEATURES_FILE);
  }

  /** Decodes a feature file; one that stores its inputs by reference reads them from its part. */
  async decodeFeatures(
    plan: Plan,
    set: 'train' | 'query',
    shard: number,
    c: number,
    bytes: Uint8Array,
  ): Promise<FeatureFile> {
    const file = openFeatureFile(
      bytes,
      `${this.featurePrefix(plan, set, shard, c)}/${FEATURES_FILE}`,
    );
    return file.complete(
      file.meta.inputColumns ? await this.inputRows(plan, set, shard) : undefined,
    );
  }

  /** A shard's rows of its input part (its examples' model inputs). */
  async inputRows(plan: Plan, set: 'train' | 'query', shard: number): Promise<InputRows> {
    const s = plan[set].shards[shard];
    if (!s) throw new Error(`${set} has no shard ${shard}`);
    return { ds: await this.dataPart(plan[set].prefix, s.part), start: s.start, end: s.end };
  }

  /** Every query's features at checkpoint c (queries are few: they fit in memory). */
  async queryFeatures(plan: Plan, c: number, times?: PhaseMarks): Promise<ExampleFeatures> {
    const key = plan.query.shards.map((_, s) => this.featurePrefix(plan, 'query', s, c)).join('|');
    let f = this.queries.get(key);
    if (!f) {
      const parts = [];
      for (let s = 0; s < plan.query.shards.length; s++) {
        parts.push((await this.features(plan, 'query', s, c, times)).features);
      }
      f = concatFeatures(parts);
      if (this.queries.size >= 8) this.queries.clear();
      this.queries.set(key, f);
    }
    return f;
  }
}

export function checkpointInfos(plan: Plan): CheckpointInfo[] {
  return plan.checkpoints.map((c) => ({ step: c.step, learningRate: c.learningRate }));
}
