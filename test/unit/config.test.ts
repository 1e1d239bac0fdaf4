import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../lib/config';

test('defaults point at the local stack', () => {
  const c = loadConfig({});
  assert.equal(c.temporal.address, '127.0.0.1:7233');
  assert.equal(c.s3.endpoint, 'http://127.0.0.1:8333');
  assert.equal(c.s3.forcePathStyle, true);
  assert.equal(c.backend, 'auto');
});

test('environment overrides, AWS endpoint drops path style', () => {
  const c = loadConfig({ TDA_S3_ENDPOINT: 'aws', TDA_S3_BUCKET: 'my-bucket', TDA_BACKEND: 'cpu' });
  assert.equal(c.s3.endpoint, undefined);
  assert.equal(c.s3.forcePathStyle, false);
  assert.equal(c.s3.bucket, 'my-bucket');
  assert.equal(c.backend, 'cpu');
});

test('bad values are named', () => {
  assert.throws(() => loadConfig({ TDA_BACKEND: 'tpu' }), /backend/);
  assert.throws(() => loadConfig({ TDA_S3_BUCKET: 'x' }), /s3\.bucket/);
  assert.throws(() => loadConfig({ TDA_S3_PORT: 'abc' }), /expected number/);
});

test('boolean variables: 1/0, true/false, yes/no; anything else names the variable', () => {
  assert.equal(loadConfig({}).warmUp, true);
  assert.equal(loadConfig({ TDA_WARM_UP: '' }).warmUp, true);
  for (const v of ['0', 'false', 'NO']) assert.equal(loadConfig({ TDA_WARM_UP: v }).warmUp, false);
  for (const v of ['1', 'True', 'yes']) assert.equal(loadConfig({ TDA_WARM_UP: v }).warmUp, true);
  assert.throws(() => loadConfig({ TDA_WARM_UP: 'off' }), /TDA_WARM_UP must be .*got "off"/);
  assert.equal(loadConfig({ TDA_S3_FORCE_PATH_STYLE: 'no' }).s3.forcePathStyle, false);
  assert.throws(() => loadConfig({ TDA_S3_FORCE_PATH_STYLE: '2' }), /TDA_S3_FORCE_PATH_STYLE/);
});
