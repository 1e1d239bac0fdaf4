import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../../lib/store/fsStore';
import { storeContract } from '../../support/storeContract';

storeContract('FsStore', async () => new FsStore(await mkdtemp(join(tmpdir(), 'tda-store-'))), {
  big: true,
});
