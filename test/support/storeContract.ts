import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { concatBytes } from '../../lib/bytes';
import { ChunkedUpload } from '../../lib/store/chunkedUpload';
import {
  collectGarbage,
  readCommitted,
  readCommittedFile,
  readManifest,
  Transaction,
} from '../../lib/store/commit';
import { NoSuchUploadError, NotFoundError, type ObjectStore } from '../../lib/store/objectStore';

/** The ObjectStore contract, run against each implementation. */
export function storeContract(
  name: string,
  open: () => Promise<ObjectStore>,
  opts = { big: false },
) {
  test(`${name}: put, get, exists, list, copy, delete`, async () => {
    const store = await open();
    const p = `contract/${randomUUID()}`;
    await store.put(`${p}/a.txt`, 'hello');
    await store.put(`${p}/sub/b.bin`, new Uint8Array([1, 2, 3]));
    assert.equal(new TextDecoder().decode(await store.get(`${p}/a.txt`)), 'hello');
    assert.deepEqual(Array.from(await store.get(`${p}/sub/b.bin`)), [1, 2, 3]);
    const chunks: Uint8Array[] = [];
    for await (const c of await store.getStream(`${p}/sub/b.bin`)) chunks.push(c as Uint8Array);
    assert.deepEqual(Array.from(concatBytes(chunks)), [1, 2, 3]);
    assert.equal(await store.exists(`${p}/a.txt`), true);
    assert.equal(await store.exists(`${p}/nope`), false);
    assert.deepEqual(await store.list(`${p}/`), [`${p}/a.txt`, `${p}/sub/b.bin`]);
    await store.copy(`${p}/a.txt`, `${p}/c.txt`);
    assert.equal(new TextDecoder().decode(await store.get(`${p}/c.txt`)), 'hello');
    await store.delete(`${p}/a.txt`);
    assert.equal(await store.exists(`${p}/a.txt`), false);
    assert.deepEqual(await store.list(`${p}/`), [`${p}/c.txt`, `${p}/sub/b.bin`]);
  });

  test(`${name}: a missing key is a NotFoundError naming it`, async () => {
    const store = await open();
    await assert.rejects(store.get('contract/missing/key.arrow'), (e: Error) => {
      assert.ok(e instanceof NotFoundError);
      assert.match(e.message, /contract\/missing\/key\.arrow/);
      return true;
    });
    await assert.rejects(store.copy('contract/missing/x', 'contract/y'), NotFoundError);
    await assert.rejects(store.getStream('contract/missing/key.arrow'), NotFoundError);
  });

  test(`${name}: keys that escape are rejected`, async () => {
    const store = await open();
    await assert.rejects(store.put('../x', 'a'), /invalid object key/);
    await assert.rejects(store.put('/abs', 'a'), /invalid object key/);
  });

  test(`${name}: a transaction is invisible until its manifest commits`, async () => {
    const store = await open();
    const p = `contract/${randomUUID()}`;
    const crashed = new Transaction(store, p);
    await crashed.put('out.bin', new Uint8Array([9]));
    // The crashed attempt never commits: nothing is readable.
    assert.equal(await readManifest(store, p), undefined);
    await assert.rejects(readCommitted(store, p, 'out.bin'), /no committed manifest/);
    const retry = new Transaction(store, p);
    await retry.put('out.bin', new Uint8Array([7, 7]));
    const attempts = async () => (await store.list(`${p}/_attempts/`)).length;
    assert.equal(await attempts(), 2);
    const m = await retry.commit({ rows: 2 });
    assert.deepEqual(Array.from(await readCommitted(store, p, 'out.bin')), [7, 7]);
    assert.equal(await attempts(), 1, 'the commit deleted the crashed attempt');
    // A late duplicate attempt finds the manifest and does not replace it.
    const late = new Transaction(store, p);
    await late.put('out.bin', new Uint8Array([1]));
    assert.deepEqual(await late.commit({ rows: 1 }), m);
    assert.deepEqual(Array.from(await readCommitted(store, p, 'out.bin')), [7, 7]);
    assert.equal(await attempts(), 1, 'the late commit deleted its own attempt');
    // Files written after the commit by an attempt that never commits are collected by hand.
    await new Transaction(store, p).put('out.bin', new Uint8Array([2]));
    assert.equal(await collectGarbage(store, p), 1, 'the attempt after the commit');
    assert.deepEqual(Array.from(await readCommitted(store, p, 'out.bin')), [7, 7]);
    assert.equal(await attempts(), 1);
  });

  test(`${name}: a file committed in pieces is read whole; its commit collects a killed attempt's chunks`, async () => {
    const store = await open();
    const p = `contract/${randomUUID()}`;
    // A killed attempt: two chunks saved, never finished.
    const killed = new Transaction(store, p);
    const dead = await ChunkedUpload.open(store, killed.keyOf('f.bin'));
    await dead.append(Uint8Array.of(5));
    await dead.append(Uint8Array.of(6));
    const tx = new Transaction(store, p);
    const up = await ChunkedUpload.open(store, tx.keyOf('f.bin'));
    await up.append(Uint8Array.of(1, 2));
    tx.adopt('f.bin', await up.finish(Uint8Array.of(3)));
    const m = await tx.commit({});
    assert.equal(m.files['f.bin'].pieces?.length, 2);
    assert.deepEqual(Array.from(await readCommitted(store, p, 'f.bin')), [1, 2, 3]);
    assert.deepEqual(await store.list(`${p}/_attempts/`), m.files['f.bin'].pieces);
    assert.equal(await collectGarbage(store, p), 0, 'the pieces are live');
  });

  /** Bytes whose every 4 KiB page differs, so a misplaced part cannot go unnoticed. */
  const bytesOf = (n: number, seed: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 1024) b[i] = (i / 1024 + seed) & 255;
    return b;
  };

  test(`${name}: a multipart upload is invisible until complete, and parts obey the minimum`, async () => {
    const store = await open();
    const key = `contract/${randomUUID()}/mp.bin`;
    const big = bytesOf(Math.max(store.minPartBytes, 1024), 1);
    const small = bytesOf(3000, 2);
    const id = await store.createUpload(key);
    const e1 = await store.uploadPart(key, id, 1, big);
    const e2 = await store.uploadPart(key, id, 2, small);
    assert.equal(await store.exists(key), false);
    assert.deepEqual(await store.list(key.slice(0, key.lastIndexOf('/') + 1)), []);
    assert.deepEqual(
      (await store.listParts(key, id)).map((p) => [p.partNumber, p.etag]),
      [
        [1, e1],
        [2, e2],
      ],
    );
    if (store.minPartBytes > 0) {
      // A small part that is not the last is refused at completion.
      const bad = await store.createUpload(`${key}.bad`);
      const b1 = await store.uploadPart(`${key}.bad`, bad, 1, small);
      const b2 = await store.uploadPart(`${key}.bad`, bad, 2, small);
      await assert.rejects(
        store.completeUpload(`${key}.bad`, bad, [
          { partNumber: 1, etag: b1 },
          { partNumber: 2, etag: b2 },
        ]),
        // S3 answers EntityTooSmall; FsStore emulates it with a message naming the part.
        (e: Error) =>
          e.name === 'EntityTooSmall' || /part 1 of .* under the minimum/.test(e.message),
      );
      assert.equal(await store.exists(`${key}.bad`), false);
      await store.abortUpload(`${key}.bad`, bad);
    }
    await store.completeUpload(key, id, [
      { partNumber: 1, etag: e1 },
      { partNumber: 2, etag: e2 },
    ]);
    assert.ok(Buffer.from(await store.get(key)).equals(Buffer.from(concatBytes([big, small]))));
    const gone = await store.createUpload(`${key}.gone`);
    await store.abortUpload(`${key}.gone`, gone);
    await assert.rejects(store.listParts(`${key}.gone`, gone), NoSuchUploadError);
    await assert.rejects(store.uploadPart(`${key}.gone`, gone, 1, small), NoSuchUploadError);
    await store.delete(key);
  });

  test(`${name}: a chunked upload resumes from a stale state and sends each part once`, async () => {
    const store = await open();
    const key = `contract/${randomUUID()}/chunked.bin`;
    // Chunks of a third of a part: parts of three chunks, with chunks pending in between.
    const third = Math.ceil(Math.max(store.minPartBytes, 3072) / 3);
    const chunks = Array.from({ length: 8 }, (_, k) => bytesOf(third + k, k));
    const tail = Uint8Array.of(9, 9);
    const first = await ChunkedUpload.open(store, key);
    const states = [];
    for (const c of chunks.slice(0, 5)) {
      await first.append(c);
      states.push(first.state);
    }
    assert.equal(states[4].parts.length, 1);
    assert.equal(states[4].inParts, 3);
    assert.equal(await store.exists(key), false);
    // The worker dies; the last heartbeat that arrived was after chunk 2 (pending, no part yet).
    const retry = await ChunkedUpload.open(store, key, states[1]);
    assert.equal(retry.resumedChunks, 2);
    for (const c of chunks.slice(2)) await retry.append(c);
    const file = await retry.finish(tail);
    const whole = concatBytes([...chunks, tail]);
    assert.ok(Buffer.from(await store.get(key)).equals(Buffer.from(whole)));
    assert.equal(file.bytes, whole.byteLength);
    assert.equal(file.parts, 3);
    assert.deepEqual(await store.list(`${key}.`), [], 'pending chunks deleted');
    // A state whose upload is gone starts afresh.
    await store.abortUpload(key, states[4].uploadId as string);
    assert.equal((await ChunkedUpload.open(store, `${key}`, states[4])).resumedChunks, 0);
    // A file smaller than a part keeps its saved chunks and its tail as pieces, each sent once.
    const small = await ChunkedUpload.open(store, `${key}.small`);
    await small.append(Uint8Array.of(1));
    await small.append(Uint8Array.of(2, 3));
    const digest = (b: Uint8Array) => createHash('sha256').update(b).digest();
    const pieces = await small.finish(tail);
    assert.deepEqual(pieces, {
      bytes: 5,
      sha256: createHash('sha256')
        .update(Buffer.concat([Uint8Array.of(1), Uint8Array.of(2, 3), tail].map(digest)))
        .digest('hex'),
      pieces: [0, 1, 2].map((k) => `${key}.small.chunk-${k}`),
    });
    assert.equal(await store.exists(`${key}.small`), false);
    const read = await readCommittedFile(store, { key: `${key}.small`, ...pieces });
    assert.deepEqual([...read], [1, 2, 3, 9, 9]);
    // Only a tail: one put at the key.
    const one = await ChunkedUpload.open(store, `${key}.one`);
    assert.deepEqual(await one.finish(tail), {
      bytes: 2,
      sha256: createHash('sha256').update(tail).digest('hex'),
    });
    assert.deepEqual([...(await store.get(`${key}.one`))], [9, 9]);
    await store.delete(key);
    await store.delete(`${key}.one`);
    for (const k of pieces.pieces ?? []) await store.delete(k);
  });

  if (opts.big) {
    test(`${name}: a large object goes up in parts and comes back whole`, async () => {
      const store = await open();
      const key = `contract/${randomUUID()}/big.bin`;
      const big = new Uint8Array(20 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 255;
      await store.put(key, big);
      const back = await store.get(key);
      assert.equal(back.length, big.length);
      assert.ok(Buffer.from(back).equals(Buffer.from(big)));
      await store.delete(key);
    });
  }
}
