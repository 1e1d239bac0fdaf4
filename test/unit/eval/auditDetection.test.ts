import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankExamples } from '../../../lib/audit/compareRankings';
import { rankingDetection } from '../../../lib/eval/auditDetection';
import { mislabelReport } from '../../../lib/eval/mislabel';
import { seededRandom } from '../../../lib/methods/clustering';

test("an audit ranking's detection equals the mislabel metrics of its scores in row order", () => {
  const rand = seededRandom(3);
  // Two batches; ids unique within a batch and shuffled, as a user's id column may be.
  const sizes = [70, 50];
  const batch: number[] = [];
  const id: number[] = [];
  const flippedRows: boolean[] = [];
  const score: number[] = [];
  const flips = new Map<string, { ids: Int32Array; flipped: Uint8Array }>();
  sizes.forEach((n, b) => {
    const ids = Int32Array.from({ length: n }, (_, i) => 1000 * b + ((i * 37) % n));
    const flipped = Uint8Array.from({ length: n }, () => (rand() < 0.15 ? 1 : 0));
    flips.set(`b${b}`, { ids, flipped });
    ids.forEach((x, i) => {
      batch.push(b);
      id.push(x);
      flippedRows.push(flipped[i] === 1);
      // Coarse scores, so that ties occur (broken by batch, then id, in both).
      score.push(Math.round((rand() + (flipped[i] ? 0.5 : 0)) * 8) / 8);
    });
  });
  const ranking = rankExamples(
    ['b0', 'b1'],
    Int32Array.from(batch),
    Int32Array.from(id),
    Float64Array.from(score),
  );
  const got = rankingDetection(ranking, flips);
  // Reference: rows sorted by (batch, id), so the lower index wins a tie as in the ranking.
  const order = score.map((_, i) => i).sort((a, b) => batch[a] - batch[b] || id[a] - id[b]);
  const want = mislabelReport(
    order.map((i) => score[i]),
    order.map((i) => flippedRows[i]),
  );
  assert.deepEqual(got.foundAt, want.foundAt);
  assert.ok(Math.abs(got.auc - want.auc) < 1e-12);
  assert.equal(got.flippedTotal, flippedRows.filter(Boolean).length);
  assert.throws(() => rankingDetection(ranking, new Map([['b0', flips.get('b0')!]])), /batch "b1"/);
});
