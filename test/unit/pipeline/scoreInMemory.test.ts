import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { readColumn, readTable } from '../../../lib/arrow/columns';
import { readAllParts } from '../../../lib/data/partitionedDataset';
import type { ProjectorSpec } from '../../../lib/grad/types';
import { runInProcess } from '../../../lib/pipeline/runInProcess';
import type { RunSpecInput } from '../../../lib/pipeline/runSpec';
import { scoreInMemory } from '../../../lib/pipeline/scoreInMemory';
import { topIndices } from '../../../lib/reduce/topK';
import { FsStore } from '../../../lib/store/fsStore';
import { useTestBackend } from '../../support/backend';
import { makeTinyRun } from '../../support/tinyRun';
import { maxRelErr, pearson } from '../methods/fixtures';

/** Float32 storage so the pipeline's and the in-memory runner's features are the same numbers. */
const projector = { kind: 'kronecker' as const, k1: 4, k2: 3, seed: 7, dtype: 'float32' as const };

let store: FsStore;
let spec: RunSpecInput;
/** The tiny run's checkpoints, training and query sets, for scoreInMemory. */
const data = () => ({ checkpoints: spec.checkpoints, train: spec.train, query: spec.query });
let backend: string;
before(async () => {
  backend = await useTestBackend();
  store = new FsStore(await mkdtemp(join(tmpdir(), 'tda-inmem-')));
  spec = await makeTinyRun(store, 'tiny', { trainRows: 120, queryRows: 6 });
});

/** Exact factors (projector none: every Dense layer stores a, δ) and projected factors. */
const exact = { kind: 'none' as const, dtype: 'float32' as const };
for (const [what, p] of [
  ['Kronecker-projected', projector],
  ['exact', exact],
] as const) {
  test(`in-memory TracIn (float64 products) agrees with the pipeline runner (float32 products), ${what} factors`, async () => {
    const summary = await runInProcess(store, {
      ...spec,
      name: `tiny-${p.kind}`,
      projector: p,
      topK: 5,
    });
    const mem = await scoreInMemory(store, {
      ...data(),
      method: 'tracin',
      featurize: { projector: p, batchSize: 16 },
      topK: 5,
    });
    const topk = readTable(await store.get(summary.files.topk));
    const idx = readColumn<Int32Array>(topk, 'index', 'int32').values;
    const score = readColumn<Float64Array>(topk, 'score', 'float64').values;
    const kind = readColumn<Int32Array>(topk, 'kind', 'int32').values;
    const q = readColumn<Int32Array>(topk, 'query', 'int32').values;
    const pro0 = [...idx].filter((_, r) => q[r] === 0 && kind[r] === 1);
    assert.deepEqual(pro0, mem.topk?.proponents[0].index);
    const s0 = [...score].filter((_, r) => q[r] === 0 && kind[r] === 1);
    // float32 products vs float64: agree to float32 precision of the largest score.
    const scale = Math.max(...s0.map(Math.abs));
    for (let j = 0; j < s0.length; j++) {
      const diff = Math.abs(s0[j] - (mem.topk?.proponents[0].score[j] as number));
      assert.ok(
        diff <= 1e-5 * scale,
        `score ${j}: ${s0[j]} vs ${mem.topk?.proponents[0].score[j]}`,
      );
    }
    const self = readColumn<Float64Array>(
      readTable(await store.get(summary.files.examples)),
      'self_influence',
      'float64',
    );
    if (backend === 'tensorflow') {
      // TensorFlow's gradient of a row in a short batch can differ in the last bit from the
      // same row's in a full one, and the pipeline's shards (50 rows) end in short batches of 16.
      for (let i = 0; i < self.values.length; i++) {
        const m = mem.selfInfluence[i];
        assert.ok(Math.abs(self.values[i] - m) <= 1e-6 * Math.abs(m), `self ${i}`);
      }
    } else {
      // Elsewhere a row's features do not depend on its batch: the same numbers.
      assert.deepEqual(Array.from(self.values), Array.from(mem.selfInfluence));
    }
  });
}

test('exact influence: conjugate gradient and LiSSA solve the same system', async () => {
  const job = {
    ...data(),
    damping: 1,
  };
  const cg = await scoreInMemory(store, { ...job, method: 'influenceCG' });
  const li = await scoreInMemory(store, { ...job, method: 'influenceLiSSA' });
  const a = cg.scores!.data;
  const b = li.scores!.data;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  assert.ok(Math.sqrt(num / den) < 1e-3, `relative difference ${Math.sqrt(num / den)}`);
  assert.deepEqual(
    cg.topk?.proponents[0].index.slice(0, 3),
    li.topk?.proponents[0].index.slice(0, 3),
  );
});

test('projected influence, DataInf and clusters run on the same features; bad requests are named', async () => {
  const job = data();
  const p = await scoreInMemory(store, { ...job, method: 'influenceProjected' });
  const d = await scoreInMemory(store, { ...job, method: 'dataInf' });
  assert.equal(p.scores?.train, 120);
  assert.equal(d.scores?.queries, 6);
  const c = await scoreInMemory(store, { ...job, method: 'clusters', k: 3 });
  assert.equal(
    c.clusters?.clusters.reduce((s, x) => s + x.members.length, 0),
    120,
  );
  await assert.rejects(
    scoreInMemory(store, {
      ...job,
      method: 'influenceCG',
      featurize: { projector: { kind: 'kronecker', k1: 2, k2: 2, seed: 0 } },
    }),
    /needs exact gradients/,
  );
  await assert.rejects(
    scoreInMemory(store, { ...job, checkpoints: 'nope.json', method: 'gradDot' }),
    /nope\.json/,
  );
});

test('EK-FAC influence from the command-line runner: proponents share the query label', async () => {
  const job = { ...data(), topK: 5 };
  const ek = await scoreInMemory(store, { ...job, method: 'influenceEkfac' });
  // The full-space damped empirical Fisher (no projection), for comparison only: EK-FAC fits
  // the true Fisher (sampled labels) layer by layer, so the two differ.
  const exact = await scoreInMemory(store, { ...job, method: 'influenceProjected' });
  const r = pearson(ek.scores!.data, exact.scores!.data);
  console.log(`EK-FAC vs exact empirical-Fisher influence: Pearson r = ${r.toFixed(3)}`);
  const train = await readAllParts(store, spec.train);
  const query = await readAllParts(store, spec.query);
  let same = 0;
  let opposite = 0;
  for (let q = 0; q < 6; q++) {
    for (const i of ek.topk!.proponents[q].index)
      same += Number(train.labels[i] === query.labels[q]);
    for (const i of ek.topk!.opponents[q].index)
      opposite += Number(train.labels[i] === query.labels[q]);
  }
  console.log(`top-5 proponents with the query's label: ${same}/30; opponents: ${opposite}/30`);
  assert.ok(same >= 24, `${same}/30 proponents share the query label`);
  assert.ok(opposite < same);
});

test('the influence self-score (curvature-weighted, summed over checkpoints) ranks the planted mislabels first', async () => {
  const job = data();
  const tracIn = await scoreInMemory(store, { ...job, method: 'tracin' });
  const inf = await scoreInMemory(store, {
    ...job,
    method: 'gradDot',
    selfScore: { kind: 'influence', layers: 'all', relativeDamping: 0.1 },
  });
  const train = await readAllParts(store, spec.train);
  // makeTinyRun's blobs mislabel every row i with i % 17 = 5 (7 of 120).
  const planted = new Set(Array.from({ length: 120 }, (_, i) => i).filter((i) => i % 17 === 5));
  const foundInTop = (s: Float64Array) =>
    topIndices(s, planted.size).filter((i) => planted.has(i)).length;
  const [ft, fi] = [foundInTop(tracIn.selfInfluence), foundInTop(inf.selfInfluence)];
  console.log(`planted mislabels in the top ${planted.size}: TracIn ${ft}, influence ${fi}`);
  assert.equal(train.rows, 120);
  assert.ok(fi >= planted.size - 1, `influence self-score found ${fi}/${planted.size}`);
  assert.notDeepEqual(Array.from(inf.selfInfluence), Array.from(tracIn.selfInfluence));
  await assert.rejects(
    scoreInMemory(store, { ...job, method: 'gradDot', selfScore: { kind: 'loss' } as never }),
    /bad self-score/,
  );
});

/** The self-score's sketch of exact factors: the Kronecker projector's seeded matrices. */
const sketch = { k1: 4, k2: 3, seed: 7 };

// The Gram of stored vectors, K-FAC from stored factors (projected, and exact), and the Gram of
// a sketch of exact factors.
for (const [curvature, p, sk] of [
  ['gram', projector, undefined],
  ['kfac', projector, undefined],
  ['kfac', exact, undefined],
  ['gram', exact, sketch],
] as const) {
  test(`the pipeline runner computes the influence self-score as the in-memory runner does (${curvature}, projector ${p.kind}${sk ? ', sketched' : ''})`, async () => {
    const selfScore = {
      kind: 'influence' as const,
      layers: 'last' as const,
      relativeDamping: 0.05,
      curvature,
      sketch: sk,
    };
    const summary = await runInProcess(store, {
      ...spec,
      name: `tiny-influence-self-${curvature}-${p.kind}${sk ? '-sketch' : ''}`,
      projector: p,
      shardSize: 50,
      selfScore,
    });
    assert.equal(summary.selfScore, 'influence');
    const mem = await scoreInMemory(store, {
      ...data(),
      method: 'gradDot',
      featurize: { projector: p, batchSize: 16 },
      selfScore,
    });
    const self = readColumn<Float64Array>(
      readTable(await store.get(summary.files.examples)),
      'self_influence',
      'float64',
    ).values;
    // Shards of 50 rows (three passes' worth of parts), float32 backend products vs float64.
    assert.ok(
      maxRelErr(self, mem.selfInfluence) < 1e-4,
      `relative error ${maxRelErr(self, mem.selfInfluence)}`,
    );
    assert.deepEqual(topIndices(self, 7), topIndices(mem.selfInfluence, 7));
  });
}

test('the Gram self-score of sketched exact factors equals the Gram self-score of features the Kronecker projector stored', async () => {
  const selfScore = { kind: 'influence' as const, layers: 'last' as const, relativeDamping: 0.05 };
  const run = (p: ProjectorSpec, s?: typeof sketch) =>
    scoreInMemory(store, {
      ...data(),
      method: 'gradDot',
      featurize: { projector: p, batchSize: 16 },
      selfScore: { ...selfScore, sketch: s },
    });
  const sketched = await run(exact, sketch);
  const stored = await run({ ...projector, engine: 'tf' });
  assert.deepEqual(sketched.selfInfluence, stored.selfInfluence);
  // Not the exact Gram's scores: the sketch changes what is ranked.
  const unsketched = await run(exact);
  assert.ok(maxRelErr(unsketched.selfInfluence, stored.selfInfluence) > 1e-3);
});

test('unknown layers in a run spec fail at plan time as a SpecError naming the field', async () => {
  await assert.rejects(
    runInProcess(store, {
      ...spec,
      selfScore: { kind: 'influence', layers: { names: ['logits', 'nope'] } },
    }),
    (e: Error) =>
      e.name === 'SpecError' &&
      /selfScore\.layers: "nope" not among the featurized layers \(hidden, logits\)/.test(
        e.message,
      ),
  );
  await assert.rejects(
    runInProcess(store, { ...spec, layers: { names: ['zz'] } }),
    (e: Error) =>
      e.name === 'SpecError' && /layers: model '.*' has no layer named 'zz'/.test(e.message),
  );
  // A sketch and K-FAC read stored factors, which a dense random projection does not keep.
  for (const [field, selfScore] of [
    ['sketch', { kind: 'influence', sketch: { k1: 4, k2: 3 } }],
    ['curvature', { kind: 'influence', curvature: 'kfac' }],
  ] as const) {
    await assert.rejects(
      runInProcess(store, { ...spec, projector: { kind: 'rademacher', k: 8 }, selfScore }),
      (e: Error) =>
        e.name === 'SpecError' &&
        e.message ===
          `selfScore.${field}: reads the layers' stored factors, which projector rademacher does not store (use projector none or kronecker)`,
    );
    // A Kronecker projection whose factors would be no smaller than it stores a vector: found at
    // plan time by featurizing one example, named as a shard would have named it.
    await assert.rejects(
      runInProcess(store, {
        ...spec,
        projector: { kind: 'kronecker', k1: 1, k2: 1 },
        selfScore,
      }),
      (e: Error) =>
        e.name === 'SpecError' &&
        e.message.startsWith(
          `selfScore.${field}: layer "logits" is stored as a (projected) gradient, not as factors`,
        ),
    );
  }
});
