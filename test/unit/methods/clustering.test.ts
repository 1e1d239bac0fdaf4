import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CheckpointInfo } from '../../../lib/methods/../features';
import {
  kMedoids,
  seededRandom,
  tracInClusters,
  tracInEmbedding,
} from '../../../lib/methods/clustering';
import { gaussian, pack } from './fixtures';

/** Rows scattered tightly around `k` random directions (with random positive scale). */
function planted(nPer: number, k: number, dim: number, seed: number) {
  const g = gaussian(seededRandom(seed));
  const dirs = Array.from({ length: k }, () => Float64Array.from({ length: dim }, () => g()));
  const rows = nPer * k;
  const grads = new Float64Array(rows * dim);
  const truth = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = (i * 7) % k; // interleaved, so index order does not reveal the clusters
    truth[i] = c;
    const scale = 0.5 + 3 * Math.abs(g());
    for (let a = 0; a < dim; a++) grads[i * dim + a] = scale * (dirs[c][a] + 0.15 * g());
  }
  return { rows, dim, grads, truth };
}

test('k-medoids on 1 − cosine recovers planted clusters, deterministically', () => {
  const p = planted(15, 4, 10, 3);
  const res = kMedoids({ rows: p.rows, dim: p.dim, data: p.grads }, 4, { seed: 9 });
  assert.equal(res.clusters.length, 4);
  // Every cluster is pure and complete.
  for (const c of res.clusters) {
    assert.equal(c.members.length, 15);
    assert.ok(c.members.every((m) => p.truth[m] === p.truth[c.medoid]));
    assert.ok(c.members.includes(c.medoid));
  }
  // Medoid = the member with least total distance (brute force).
  const cos = (i: number, j: number) => {
    let s = 0;
    let a = 0;
    let b = 0;
    for (let k = 0; k < p.dim; k++) {
      s += p.grads[i * p.dim + k] * p.grads[j * p.dim + k];
      a += p.grads[i * p.dim + k] ** 2;
      b += p.grads[j * p.dim + k] ** 2;
    }
    return s / Math.sqrt(a * b);
  };
  for (const c of res.clusters) {
    const cost = (m: number) => c.members.reduce((t, j) => t + 1 - cos(m, j), 0);
    const best = Math.min(...c.members.map(cost));
    assert.ok(Math.abs(cost(c.medoid) - best) < 1e-9);
  }
  const again = kMedoids({ rows: p.rows, dim: p.dim, data: p.grads }, 4, { seed: 9 });
  assert.deepEqual(again.assignment, res.assignment);
});

test('TracIn clustering over checkpoints uses √η-weighted concatenation', () => {
  const p = planted(10, 3, 6, 5);
  const f = pack({
    rows: p.rows,
    dim: p.dim,
    grads: p.grads,
    loss: new Float64Array(p.rows),
    layers: [],
  });
  const cps: CheckpointInfo[] = [
    { step: 1, learningRate: 0.3 },
    { step: 2, learningRate: 0.1 },
  ];
  const emb = tracInEmbedding([f, f], cps);
  assert.equal(emb.dim, 12);
  // Embedding dot products are the TracIn self-similarities Σ_c η_c g_i·g_j.
  let e = 0;
  let ref = 0;
  for (let k = 0; k < 12; k++) e += emb.data[k] * emb.data[12 + k];
  for (let k = 0; k < 6; k++) ref += 0.4 * f.grads.data[k] * f.grads.data[6 + k];
  assert.ok(Math.abs(e - ref) < 1e-9 * Math.abs(ref));
  const res = tracInClusters([f, f], cps, 3, { seed: 2 });
  for (const c of res.clusters) assert.ok(c.members.every((m) => p.truth[m] === p.truth[c.medoid]));
  assert.throws(
    () => kMedoids({ rows: 2, dim: 2, data: new Float64Array([1, 0, 0, 0]) }, 1),
    /row 1 is a zero vector/,
  );
  assert.throws(() => kMedoids({ rows: 0, dim: 2, data: new Float64Array(0) }, 1), /empty set/);
  assert.throws(
    () => kMedoids({ rows: 2, dim: 2, data: new Float64Array([1, 0, 0, 1]) }, 3),
    /k = 3 must be in \[1, 2\]/,
  );
});
