import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CheckpointInfo, ExampleFeatures } from '../../../lib/features';
import { gradCos } from '../../../lib/methods/gradCos';
import { gradDot } from '../../../lib/methods/gradDot';
import { scoreMethod } from '../../../lib/methods/index';
import { selfInfluence } from '../../../lib/methods/selfInfluence';
import { tracIn } from '../../../lib/methods/tracIn';
import { blobs, dot, maxAbs, maxAbsDiff, mlp, pack, randomMatrix, stored } from './fixtures';

const d = 5;
const H = 7;
const C = 3;
const dim = d * H + H + H * C + C;
const train = blobs(40, d, C, 11);
const query = blobs(6, d, C, 12);
// Two checkpoints: different parameters, different learning rates.
const checkpoints: CheckpointInfo[] = [
  { step: 100, learningRate: 0.5 },
  { step: 200, learningRate: 0.05 },
];
const params = [randomMatrix(1, dim, 1, 0.5), randomMatrix(1, dim, 2, 0.5)];
const trainF = params.map((p) => pack(mlp(p, train.x, train.y, d, H, C)));
const queryF = params.map((p) => pack(mlp(p, query.x, query.y, d, H, C)));

function bruteDot(t: ExampleFeatures, q: ExampleFeatures): Float64Array {
  const tg = stored(t);
  const qg = stored(q);
  const out = new Float64Array(q.grads.rows * t.grads.rows);
  for (let a = 0; a < q.grads.rows; a++)
    for (let i = 0; i < t.grads.rows; i++)
      out[a * t.grads.rows + i] = dot(qg, a * dim, tg, i * dim, dim);
  return out;
}

test('gradDot equals the float64 brute-force dot products', () => {
  const s = gradDot(trainF[1], queryF[1]);
  assert.equal(s.queries, 6);
  assert.equal(s.train, 40);
  const ref = bruteDot(trainF[1], queryF[1]);
  assert.ok(maxAbsDiff(s.data, ref) <= 1e-12 * Math.max(1, maxAbs(ref)));
  assert.equal(
    scoreMethod('gradDot', { train: trainF, query: queryF, checkpoints }).data.join(),
    s.data.join(),
  );
});

test('gradCos equals brute-force cosines and lies in [-1, 1]', () => {
  const s = gradCos(trainF[0], queryF[0]);
  const tg = stored(trainF[0]);
  const qg = stored(queryF[0]);
  for (let a = 0; a < 6; a++) {
    for (let i = 0; i < 40; i++) {
      const c =
        dot(qg, a * dim, tg, i * dim, dim) /
        Math.sqrt(dot(qg, a * dim, qg, a * dim, dim) * dot(tg, i * dim, tg, i * dim, dim));
      assert.ok(Math.abs(s.data[a * 40 + i] - c) < 1e-12);
      assert.ok(Math.abs(s.data[a * 40 + i]) <= 1 + 1e-12);
    }
  }
  // Exact norms (from the float64 gradients) agree to float32 rounding.
  const e = gradCos(trainF[0], queryF[0], { norm: 'exact' });
  assert.ok(maxAbsDiff(e.data, s.data) < 1e-5);
});

test('TracIn-CP weights each checkpoint by its learning rate', () => {
  const s = tracIn(trainF, queryF, checkpoints);
  const ref = new Float64Array(6 * 40);
  checkpoints.forEach((cp, c) => {
    const r = bruteDot(trainF[c], queryF[c]);
    for (let k = 0; k < ref.length; k++) ref[k] += cp.learningRate * r[k];
  });
  assert.ok(maxAbsDiff(s.data, ref) <= 1e-12 * maxAbs(ref));
  // Swapping the learning rates changes the result (the weighting is real).
  const swapped = tracIn(trainF, queryF, [
    { step: 100, learningRate: 0.05 },
    { step: 200, learningRate: 0.5 },
  ]);
  assert.ok(maxAbsDiff(swapped.data, ref) > 1e-3 * maxAbs(ref));
  assert.equal(
    scoreMethod('tracin', { train: trainF, query: queryF, checkpoints }).data.join(),
    s.data.join(),
  );
});

test('TracIn shard by shard equals the whole set', () => {
  const whole = tracIn(trainF, queryF, checkpoints);
  const shard = (f: ExampleFeatures, a: number, b: number): ExampleFeatures => ({
    grads: { ...f.grads, rows: b - a, data: f.grads.data.subarray(a * dim, b * dim) },
    loss: f.loss.subarray(a, b),
    sqNorm: f.sqNorm.subarray(a, b),
  });
  const part = tracIn(
    trainF.map((f) => shard(f, 10, 25)),
    queryF,
    checkpoints,
  );
  for (let q = 0; q < 6; q++)
    for (let j = 0; j < 15; j++) assert.equal(part.data[q * 15 + j], whole.data[q * 40 + 10 + j]);
});

test('self-influence: exact uses sqNorm, projected uses the stored vectors', () => {
  const exact = selfInfluence(trainF, checkpoints);
  const proj = selfInfluence(trainF, checkpoints, 'projected');
  for (let i = 0; i < 40; i++) {
    let e = 0;
    let p = 0;
    checkpoints.forEach((cp, c) => {
      const g = mlp(params[c], train.x, train.y, d, H, C).grads;
      e += cp.learningRate * dot(g, i * dim, g, i * dim, dim);
      const s = stored(trainF[c]);
      p += cp.learningRate * dot(s, i * dim, s, i * dim, dim);
    });
    assert.ok(Math.abs(exact[i] - e) <= 1e-12 * e);
    assert.ok(Math.abs(proj[i] - p) <= 1e-12 * p);
  }
});

test('bad input gives clear errors', () => {
  const bad = pack(mlp(params[0], train.x, train.y, d, H, C));
  bad.grads.data[17] = Number.NaN;
  assert.throws(() => gradDot(bad, queryF[0]), /non-finite gradient value NaN at row 0, column 17/);
  const narrow: ExampleFeatures = {
    grads: { rows: 6, dim: 4, data: new Float32Array(24), layers: [] },
    loss: new Float32Array(6),
    sqNorm: new Float64Array(6),
  };
  assert.throws(() => gradDot(trainF[0], narrow), /dim 66 does not match query dim 4/);
  const empty: ExampleFeatures = {
    grads: { rows: 0, dim, data: new Float32Array(0), layers: [] },
    loss: new Float32Array(0),
    sqNorm: new Float64Array(0),
  };
  assert.throws(() => gradCos(empty, queryF[0]), /empty set/);
  assert.throws(
    () => tracIn(trainF, queryF, checkpoints.slice(0, 1)),
    /2 train feature sets for 1 checkpoints/,
  );
  assert.throws(() => tracIn([], [], []), /no checkpoints/);
  const wrongLen = { ...trainF[0], grads: { ...trainF[0].grads, rows: 41 } };
  assert.throws(() => gradDot(wrongLen, queryF[0]), /expected rows × dim/);
  assert.throws(
    () => scoreMethod('nope', { train: trainF, query: queryF, checkpoints }),
    /unknown method 'nope'/,
  );
});
