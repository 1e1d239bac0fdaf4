import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../../lib/store/fsStore';
import { S3_MIN_PART_BYTES } from '../../../lib/store/objectStore';
import { storeContract } from '../../support/storeContract';

// With S3's minimum part size, so the contract's multipart rules are the same on both stores.
storeContract(
  'FsStore',
  async () => new FsStore(await mkdtemp(join(tmpdir(), 'tda-store-')), S3_MIN_PART_BYTES),
  { big: true },
);
