// The light upload path (runtime/s3-light.ts) on real parts, beside the SDK path with the same
// assertions: requests go through a proxy that checks every SigV4 signature with the AWS SDK's own
// signer (the local S3 server checks none), objects are read back with Debian's awscli. First the
// stores themselves in this process (signatures, headers, keys, error kinds, HEAD answers, keep-alive,
// abort), then the real layer through aws-lambda-ric: a wrong secret, a session token,
// virtual-hosted style, a 503 then success, a PUT cut off by the function's deadline, and credentials
// that are not in the environment (the SDK path, said by health).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ricAvailable, type Container } from '../../scripts/local/lambda.mjs';
import { LOCAL_CREDENTIALS, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { parseConfig, type CoverageConfig } from '../../runtime/config.js';
import { chooseUploadPath, classifyError, createS3Store, type ObjectStore, type UploadPath } from '../../runtime/s3.js';
import { objectTarget } from '../../runtime/s3-light.js';
import { FIXTURE_PATH, expectedCounters } from './fixtures.js';
import { startProxy, type S3Proxy } from './proxy.js';
import { awsGet, awsListKeys, awsShard, fixtureBehindLayer, layerOpt, tempDir, waitFor, BUCKET } from './helpers.js';

const PATHS: UploadPath[] = ['light', 'sdk'];
const LOCALHOST_DNS = fileURLToPath(new URL('./localhost-dns.cjs', import.meta.url));

function config(env: Record<string, string> = {}): CoverageConfig {
  const parsed = parseConfig({ COVERAGE_ENABLED: '1', COVERAGE_S3_BUCKET: BUCKET, AWS_REGION: 'us-east-1', ...env });
  expect(parsed.problems).toEqual([]);
  return parsed.config;
}

describe('which path, and where an object is', () => {
  const creds = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
  it('light with the credentials in the environment; the SDK without them, when asked, and for what the light path does not cover', () => {
    expect(chooseUploadPath(config(), creds)).toEqual({ path: 'light', why: null });
    expect(chooseUploadPath(config(), {}).why).toContain('AWS_ACCESS_KEY_ID');
    expect(chooseUploadPath(config({ COVERAGE_UPLOAD_PATH: 'sdk' }), creds)).toEqual({ path: 'sdk', why: 'COVERAGE_UPLOAD_PATH=sdk' });
    expect(chooseUploadPath(config({ COVERAGE_S3_BUCKET: 'cov--use1-az4--x-s3' }), creds).path).toBe('sdk');
    expect(chooseUploadPath(config(), { ...creds, AWS_USE_FIPS_ENDPOINT: 'true' }).path).toBe('sdk');
    expect(chooseUploadPath(config({ AWS_REGION: 'us-iso-east-1' }), creds).path).toBe('sdk');
    // With its own endpoint an S3-compatible store is addressed as configured, FIPS or not.
    expect(chooseUploadPath(config({ COVERAGE_S3_ENDPOINT: 'http://127.0.0.1:9000' }), { ...creds, AWS_USE_FIPS_ENDPOINT: 'true' }).path).toBe('light');
  });

  it('addresses objects as the SDK does: regional virtual-hosted endpoint, path style when forced or for an IP, keys encoded', () => {
    expect(objectTarget(config({ AWS_REGION: 'eu-west-1' }), 'coverage/fn/shards/a.json.gz')).toEqual({
      protocol: 'https:', hostname: `${BUCKET}.s3.eu-west-1.amazonaws.com`, port: undefined, host: `${BUCKET}.s3.eu-west-1.amazonaws.com`, path: '/coverage/fn/shards/a.json.gz',
    });
    expect(objectTarget(config({ AWS_REGION: 'cn-north-1' }), 'k').hostname).toBe(`${BUCKET}.s3.cn-north-1.amazonaws.com.cn`);
    // A dotted bucket name would not match S3's wildcard certificate.
    expect(objectTarget(config({ COVERAGE_S3_BUCKET: 'my.bucket' }), 'k')).toMatchObject({ hostname: 's3.us-east-1.amazonaws.com', path: '/my.bucket/k' });
    expect(objectTarget(config({ COVERAGE_S3_ENDPOINT: 'http://127.0.0.1:9000' }), 'k')).toMatchObject({ protocol: 'http:', hostname: '127.0.0.1', port: 9000, host: '127.0.0.1:9000', path: `/${BUCKET}/k` });
    expect(objectTarget(config({ COVERAGE_S3_ENDPOINT: 'http://localhost:9000/base/' }), 'k')).toMatchObject({ host: `${BUCKET}.localhost:9000`, path: '/base/k' });
    expect(objectTarget(config({ COVERAGE_S3_ENDPOINT: 'https://minio.internal', COVERAGE_S3_FORCE_PATH_STYLE: '1' }), 'k')).toMatchObject({ hostname: 'minio.internal', path: `/${BUCKET}/k` });
    expect(objectTarget(config(), "team a/fn+1/ü(x)*!'.gz").path).toBe('/team%20a/fn%2B1/%C3%BC%28x%29%2A%21%27.gz');
  });
});

describe('the two stores against a signature-checking S3', () => {
  let s3: LocalS3;
  let proxy: S3Proxy;
  const saved: Record<string, string | undefined> = {};
  const ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REQUEST_CHECKSUM_CALCULATION', 'AWS_RESPONSE_CHECKSUM_VALIDATION'];

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: [BUCKET] });
    proxy = await startProxy(s3.endpoint, { verify: LOCAL_CREDENTIALS });
    for (const k of ENV) saved[k] = process.env[k];
  });
  afterAll(async () => {
    for (const k of ENV) { if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k]; }
    await proxy?.stop();
    await s3?.stop();
  });

  /** Both stores read the credentials from process.env, as the SDK does (the SDK at its first request). */
  function store(path: UploadPath, env: Record<string, string> = {}, secret = LOCAL_CREDENTIALS.secretAccessKey, token?: string): ObjectStore {
    process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = secret;
    if (token === undefined) delete process.env.AWS_SESSION_TOKEN; else process.env.AWS_SESSION_TOKEN = token;
    return createS3Store(config({ COVERAGE_S3_ENDPOINT: proxy.endpoint, COVERAGE_S3_FORCE_PATH_STYLE: '1', ...env }), undefined, path);
  }
  const signal = () => AbortSignal.timeout(10_000);
  const body = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 13, 10, 0, 255]);

  for (const path of PATHS) {
    it(`${path}: a PUT signed as S3 checks it (session token included), with SSE and the owner; stored intact under its exact key`, async () => {
      proxy.requests.length = 0;
      const key = `stores/${path}/team a/fn+1/ü.json.gz`;
      const s = store(path, { COVERAGE_S3_EXPECTED_BUCKET_OWNER: '123456789012' }, undefined, 'session-token-value');
      await s.put(key, body, { contentType: 'application/json', signal: signal() });
      const [put] = proxy.requests;
      expect(put).toMatchObject({ method: 'PUT', verified: true });
      expect(put!.headers).toMatchObject({
        'x-amz-server-side-encryption': 'AES256', 'x-amz-expected-bucket-owner': '123456789012',
        'x-amz-security-token': 'session-token-value', 'content-type': 'application/json',
      });
      expect(String(put!.headers.authorization)).toContain('x-amz-security-token');
      expect(await awsListKeys(s3.endpoint, `stores/${path}/`)).toEqual([key]);
      expect((await awsGet(s3.endpoint, key)).bytes.equals(body)).toBe(true);
      // aws:kms with a key id.
      const kms = store(path, { COVERAGE_S3_SSE: 'aws:kms', COVERAGE_S3_KMS_KEY_ID: 'alias/coverage' });
      await kms.put(`stores/${path}/kms`, body, { contentType: 'application/json', signal: signal() });
      expect(proxy.requests.at(-1)!.headers).toMatchObject({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/coverage' });
      expect(proxy.requests.at(-1)!.verified).toBe(true);
    });

    it(`${path}: the maps existence check: there true, missing false, refused (403) undefined`, async () => {
      const s = store(path);
      await s.put(`stores/${path}/exists`, body, { contentType: 'application/json', signal: signal() });
      expect(await s.exists(`stores/${path}/exists`, signal())).toBe(true);
      expect(await s.exists(`stores/${path}/missing`, signal())).toBe(false);
      expect(await store(path, {}, 'not-the-secret').exists(`stores/${path}/exists`, signal())).toBeUndefined();
    });

    it(`${path}: a wrong secret is S3's SignatureDoesNotMatch, not retried; nothing but S3's Code and Message in the error`, async () => {
      const err = await store(path, {}, 'not-the-secret').put(`stores/${path}/denied`, body, { contentType: 'application/json', signal: signal() }).catch((e: unknown) => e);
      const u = classifyError(err, false);
      expect(u).toMatchObject({ kind: 'upload:SignatureDoesNotMatch', retryable: false });
      expect(u.message).toContain('secret key does not match');
      for (const text of [u.message, (err as Error).message]) {
        for (const secret of ['not-the-secret', 'StringToSign', 'SignatureProvided', LOCAL_CREDENTIALS.accessKeyId]) expect(text).not.toContain(secret);
      }
    });

    it(`${path}: a missing bucket, a throttling S3 and a 5xx get the same kinds`, async () => {
      const missing = await store(path, { COVERAGE_S3_BUCKET: 'no-such-bucket' }).put('k', body, { contentType: 'application/json', signal: signal() }).catch((e: unknown) => e);
      expect(classifyError(missing, false)).toMatchObject({ kind: 'upload:NoSuchBucket', retryable: false });
      proxy.failNext = 1;
      const slow = await store(path).put(`stores/${path}/slow`, body, { contentType: 'application/json', signal: signal() }).catch((e: unknown) => e);
      expect(classifyError(slow, false)).toMatchObject({ kind: 'upload:SlowDown', retryable: true });
      expect(proxy.failNext).toBe(0);
    });

    it(`${path}: an attempt is cut off by its signal (the time left): upload:timeout, retryable`, async () => {
      const gate = proxy.hold();
      try {
        const s = store(path);
        const sig = AbortSignal.timeout(300);
        const err = await s.put(`stores/${path}/cut`, body, { contentType: 'application/json', signal: sig }).catch((e: unknown) => e);
        expect(sig.aborted).toBe(true);
        expect(classifyError(err, sig.aborted)).toMatchObject({ kind: 'upload:timeout', retryable: true });
      } finally {
        gate.release();
      }
    });
  }

  it('light: one kept-alive connection for a store\'s requests', async () => {
    proxy.requests.length = 0;
    const s = store('light');
    for (let i = 0; i < 3; i++) await s.put(`stores/keepalive/${i}`, body, { contentType: 'application/json', signal: signal() });
    expect(await s.exists('stores/keepalive/0', signal())).toBe(true);
    expect(new Set(proxy.requests.map((r) => r.clientPort)).size).toBe(1);
  });

  it('light: a kept-alive connection the server reset just as it was reused is retried once, at once, on a new one', async () => {
    proxy.requests.length = 0;
    const s = store('light');
    await s.put('stores/reset/0', body, { contentType: 'application/json', signal: signal() });
    proxy.resetReusedNext = true;
    await s.put('stores/reset/1', body, { contentType: 'application/json', signal: signal() });
    expect(proxy.resetReusedNext).toBe(false);
    expect(proxy.requests.map((r) => r.path)).toEqual([`/${BUCKET}/stores/reset/0`, `/${BUCKET}/stores/reset/1`]);
    expect(proxy.requests[1]!.clientPort).not.toBe(proxy.requests[0]!.clientPort);
    expect((await awsGet(s3.endpoint, 'stores/reset/1')).bytes.equals(body)).toBe(true);
  });
});

const ric = ricAvailable();
if (!ric.ok) console.warn(`SKIPPED light upload path tests through the layer: ${ric.reason}`);
const d = ric.ok ? describe : describe.skip;

d('the light path through the layer and aws-lambda-ric', () => {
  let s3: LocalS3;
  let proxy: S3Proxy;
  let opt: string;
  const containers: Container[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: [BUCKET] });
    proxy = await startProxy(s3.endpoint, { verify: LOCAL_CREDENTIALS });
    opt = layerOpt();
  });
  afterAll(async () => {
    await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
    await proxy?.stop();
    await s3?.stop();
  });

  function start(fn: string, env: Record<string, string> = {}, timeoutMs?: number) {
    return fixtureBehindLayer({ opt, endpoint: proxy.endpoint, fn, env, containers, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  }
  async function health(c: Container) {
    const r = await c.invoke({ lambdaCoverage: 'health' });
    expect(r.ok).toBe(true);
    return r.payload as Record<string, any>;
  }
  const shardPuts = (fn: string) => proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes(`/${fn}/shards/`));
  const shard = async (fn: string) => awsShard(s3.endpoint, (await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`))[0]!);

  for (const path of PATHS) {
    it(`${path}: a wrong secret: the function answers, health says the signature does not match and shows no secret`, async () => {
      const fn = `fn-secret-${path}`;
      const c = await start(fn, { AWS_SECRET_ACCESS_KEY: 'WRONG-SECRET', COVERAGE_UPLOAD_PATH: path });
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(true);
      expect(r.payload.n).toBe(1);
      const h = await health(c);
      expect(h).toMatchObject({ status: 'unhealthy', pending: true, upload_path: path, last_upload: { ok: false } });
      expect(h.errors.map((e: any) => e.kind)).toContain('upload:SignatureDoesNotMatch');
      // Not retried: one attempt for the shard.
      expect(shardPuts(fn)).toHaveLength(1);
      const text = JSON.stringify(h) + c.lines('runtime').join('\n');
      for (const secret of ['WRONG-SECRET', 'StringToSign', 'SignatureProvided']) expect(text).not.toContain(secret);
    });

    it(`${path}: a session token is sent and signed with every request`, async () => {
      const fn = `fn-token-${path}`;
      const c = await start(fn, { AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLE', COVERAGE_UPLOAD_PATH: path });
      expect((await c.invoke({ n: 1 })).ok).toBe(true);
      const mine = proxy.requests.filter((r) => r.path.includes(`/${fn}/`));
      expect(mine.length).toBeGreaterThanOrEqual(2);
      for (const r of mine) {
        expect(r.headers['x-amz-security-token']).toBe('IQoJb3JpZ2luX2VjEXAMPLE');
        expect(String(r.headers.authorization)).toContain('x-amz-security-token');
        expect(r.verified).toBe(true);
      }
      expect((await shard(fn)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
      expect((await health(c)).upload_path).toBe(path);
    });

    it(`${path}: virtual-hosted style against a local endpoint (<bucket>.localhost)`, async () => {
      const fn = `fn-vhost-${path}`;
      const port = new URL(proxy.endpoint).port;
      const c = await start(fn, {
        COVERAGE_S3_ENDPOINT: `http://localhost:${port}`, COVERAGE_S3_FORCE_PATH_STYLE: '0', COVERAGE_UPLOAD_PATH: path,
        NODE_OPTIONS: `--require ${LOCALHOST_DNS}`,
      });
      expect((await c.invoke({ n: 1 })).ok).toBe(true);
      const mine = proxy.requests.filter((r) => r.path.includes(`/${fn}/`));
      expect(mine.length).toBeGreaterThanOrEqual(2);
      for (const r of mine) {
        expect(r.headers.host).toBe(`${BUCKET}.localhost:${port}`);
        expect(r.path.startsWith(`/coverage/${fn}/`)).toBe(true);
        expect(r.verified).toBe(true);
      }
      expect((await shard(fn)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
      expect((await health(c)).status).toBe('healthy');
    });

    it(`${path}: a 503 SlowDown, then success within the same invocation`, async () => {
      const fn = `fn-503-${path}`;
      const c = await start(fn, { COVERAGE_UPLOAD_PATH: path });
      expect((await c.invoke({ n: 1 })).ok).toBe(true);
      const before = shardPuts(fn).length;
      proxy.failNext = 1;
      expect((await c.invoke({ n: 2 })).ok).toBe(true);
      expect(shardPuts(fn).length - before).toBe(2);
      expect((await shard(fn)).files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));
      const h = await health(c);
      expect(h).toMatchObject({ status: 'healthy', pending: false, errors: [] });
    });

    it(`${path}: a PUT cut off by the function's deadline: the function answers in time, the next invocation heals it`, async () => {
      const fn = `fn-deadline-${path}`;
      const c = await start(fn, { COVERAGE_UPLOAD_PATH: path }, 2_000);
      expect((await c.invoke({ n: 1 })).ok).toBe(true);
      const gate = proxy.hold();
      let released = false;
      try {
        const r = await c.invoke({ n: 2 });
        expect(r.ok).toBe(true);
        expect(r.timedOut).toBeUndefined();
        // The PUT had reached S3 and was waiting for its answer when the time ran out.
        expect(gate.waiting()).toBeGreaterThan(0);
        gate.release();
        released = true;
        const h = await health(c);
        expect(h).toMatchObject({ pending: true, last_upload: { ok: false } });
        expect(h.errors.map((e: any) => e.kind)).toContain('upload:timeout');
      } finally {
        if (!released) gate.release();
      }
      // The held PUT still reaches S3 once released: let it land before the healing write (S3 keeps
      // whichever write comes last).
      await waitFor('the held requests to reach S3', () => proxy.forwarding() === 0);
      expect((await c.invoke({ n: 3 })).ok).toBe(true);
      expect((await shard(fn)).files[FIXTURE_PATH]).toEqual(expectedCounters(3, 0));
      expect((await health(c)).pending).toBe(false);
    });
  }

  it('credentials not in the environment (a shared credentials file): the SDK path uploads, health says sdk', async () => {
    const fn = 'fn-nocreds';
    const dir = tempDir('aws-config');
    const file = join(dir, 'credentials');
    writeFileSync(file, `[coverage]\naws_access_key_id = ${LOCAL_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${LOCAL_CREDENTIALS.secretAccessKey}\n`);
    const c = await start(fn, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'coverage', AWS_CONFIG_FILE: join(dir, 'config') });
    expect((await c.invoke({ n: 1 })).ok).toBe(true);
    expect((await shard(fn)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
    const h = await health(c);
    expect(h).toMatchObject({ status: 'healthy', upload_path: 'sdk' });
    expect(shardPuts(fn).every((r) => r.verified === true)).toBe(true);
  });
});
