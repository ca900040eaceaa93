import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../runtime/config.js';

const base = { COVERAGE_ENABLED: '1', COVERAGE_S3_BUCKET: 'my-bucket', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'fn' };

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const r = parseConfig(base);
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.config).toMatchObject({
      enabled: true, bucket: 'my-bucket', prefix: 'coverage/', uploadTimeoutMs: 30_000, sse: 'AES256', flush: 'inline', uploadPath: 'light',
      forcePathStyle: false, customEndpoint: false, healthHttp: false, healthHttpDeep: false, metrics: false, region: 'eu-west-1', functionName: 'fn',
    });
  });

  it('reads every variable', () => {
    const r = parseConfig({
      ...base, COVERAGE_S3_PREFIX: 'team/cov', COVERAGE_UPLOAD_TIMEOUT: '2.5', COVERAGE_S3_SSE: 'aws:kms',
      COVERAGE_S3_KMS_KEY_ID: 'alias/k', COVERAGE_S3_EXPECTED_BUCKET_OWNER: '123456789012', COVERAGE_FLUSH: 'deferred',
      COVERAGE_S3_ENDPOINT: 'http://127.0.0.1:9000', COVERAGE_S3_FORCE_PATH_STYLE: '1', COVERAGE_MANIFEST: 'm.json',
      COVERAGE_HEALTH_HTTP: 'true', COVERAGE_HEALTH_HTTP_DEEP: '1', COVERAGE_METRICS: '1', COVERAGE_LOG_LEVEL: 'debug', COVERAGE_UPLOAD_PATH: 'sdk',
    });
    expect(r.ok).toBe(true);
    expect(r.config).toMatchObject({
      prefix: 'team/cov/', uploadTimeoutMs: 2500, sse: 'aws:kms', kmsKeyId: 'alias/k', expectedBucketOwner: '123456789012',
      flush: 'deferred', endpoint: 'http://127.0.0.1:9000', customEndpoint: true, forcePathStyle: true, manifest: 'm.json',
      healthHttp: true, healthHttpDeep: true, metrics: true, debug: true, uploadPath: 'sdk',
    });
  });

  it('takes the SDK endpoint variable when COVERAGE_S3_ENDPOINT is unset', () => {
    expect(parseConfig({ ...base, AWS_ENDPOINT_URL_S3: 'http://localhost:4566' }).config).toMatchObject({ endpoint: 'http://localhost:4566', customEndpoint: true });
  });

  it.each([
    [{ COVERAGE_S3_BUCKET: '' }, 'COVERAGE_S3_BUCKET', 'required'],
    [{ COVERAGE_S3_BUCKET: 's3://b' }, 'COVERAGE_S3_BUCKET', 'not a valid S3 bucket name'],
    [{ COVERAGE_UPLOAD_TIMEOUT: 'soon' }, 'COVERAGE_UPLOAD_TIMEOUT', 'seconds'],
    [{ COVERAGE_UPLOAD_TIMEOUT: '0' }, 'COVERAGE_UPLOAD_TIMEOUT', 'seconds'],
    [{ COVERAGE_S3_SSE: 'DES' }, 'COVERAGE_S3_SSE', 'AES256'],
    [{ COVERAGE_S3_KMS_KEY_ID: 'k' }, 'COVERAGE_S3_KMS_KEY_ID', 'aws:kms'],
    [{ COVERAGE_FLUSH: 'later' }, 'COVERAGE_FLUSH', 'inline'],
    [{ COVERAGE_UPLOAD_PATH: 'fast' }, 'COVERAGE_UPLOAD_PATH', 'light'],
    [{ COVERAGE_S3_ENDPOINT: 'localhost:9000' }, 'COVERAGE_S3_ENDPOINT', 'http'],
    [{ COVERAGE_S3_FORCE_PATH_STYLE: 'maybe' }, 'COVERAGE_S3_FORCE_PATH_STYLE', 'flag'],
    [{ COVERAGE_HEALTH_HTTP_DEEP: 'sure' }, 'COVERAGE_HEALTH_HTTP_DEEP', 'flag'],
    [{ COVERAGE_S3_EXPECTED_BUCKET_OWNER: 'me' }, 'COVERAGE_S3_EXPECTED_BUCKET_OWNER', '12-digit'],
    [{ COVERAGE_S3_PREFIX: '../x' }, 'COVERAGE_S3_PREFIX', '..'],
  ])('rejects %o naming the variable', (bad, variable, words) => {
    const r = parseConfig({ ...base, ...bad });
    expect(r.ok).toBe(false);
    const p = r.problems.find((x) => x.variable === variable);
    expect(p?.message).toContain(variable);
    expect(p?.message).toContain(words);
  });

  it('an unknown COVERAGE_ name is a warning, not a reason to turn coverage off', () => {
    const r = parseConfig({ ...base, COVERAGE_BUCKET: 'x' });
    expect(r.ok).toBe(true);
    expect(r.problems[0]?.message).toContain('COVERAGE_BUCKET is not a lambda-coverage setting');
  });

  it('nothing is checked when coverage is not enabled', () => {
    const r = parseConfig({ COVERAGE_S3_SSE: 'DES' });
    expect(r).toMatchObject({ ok: true, problems: [], config: { enabled: false } });
  });
});
