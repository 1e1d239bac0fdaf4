import { S3Store } from '../../lib/store/s3Store';
import { ensureStack } from '../support/stack';
import { storeContract } from '../support/storeContract';

const config = ensureStack();
storeContract('S3Store on versitygw', async () => new S3Store(config.s3, 'test-runs'), {
  big: true,
});
