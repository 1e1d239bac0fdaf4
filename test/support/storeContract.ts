import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { collectGarbage, readCommitted, readManifest, Transaction } from '../../lib/store/commit';
import { NotFoundError, type ObjectStore } from '../../lib/store/objectStore';

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
    const m = await retry.commit({ rows: 2 });
    assert.deepEqual(Array.from(await readCommitted(store, p, 'out.bin')), [7, 7]);
    // A late duplicate attempt finds the manifest and does not replace it.
    const late = new Transaction(store, p);
    await late.put('out.bin', new Uint8Array([1]));
    assert.deepEqual(await late.commit({ rows: 1 }), m);
    assert.deepEqual(Array.from(await readCommitted(store, p, 'out.bin')), [7, 7]);
    assert.equal(await collectGarbage(store, p), 2, 'the crashed and the late attempt');
    assert.deepEqual(Array.from(await readCommitted(store, p, 'out.bin')), [7, 7]);
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
