import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FsStore } from '../../../lib/store/fsStore';
import { type ObjectStore, objectUri, S3_MIN_PART_BYTES } from '../../../lib/store/objectStore';
import { storeContract } from '../../support/storeContract';

// With S3's minimum part size, so the contract's multipart rules are the same on both stores.
storeContract(
  'FsStore',
  async () => new FsStore(await mkdtemp(join(tmpdir(), 'tda-store-')), S3_MIN_PART_BYTES),
  { big: true },
);

test('objectUri puts exactly one slash between a store and a key', () => {
  const fs = { uri: 'file:///tmp/x/store' } as ObjectStore;
  assert.equal(objectUri(fs, 'letters/train'), 'file:///tmp/x/store/letters/train');
  const s3 = { uri: 's3://tda/' } as ObjectStore;
  assert.equal(objectUri(s3, 'letters/train'), 's3://tda/letters/train');
});
