import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/** A fresh process that builds an S3 client prints nothing: no SDK Node-version warning. */
test('building an S3 store prints no AWS SDK warning', () => {
  const env = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  delete env.AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING;
  const script = `
    const { S3Store } = await import('./lib/store/s3Store.ts');
    const { loadConfig } = await import('./lib/config.ts');
    new S3Store(loadConfig().s3);
    console.log('built');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'built');
  assert.equal(r.stderr, '', 'nothing on stderr');
});
