// Every handler shape through AWS's real runtime interface client (aws-lambda-ric) and the real layer
// zip unpacked as /opt, uploading to a real S3-API server on 127.0.0.1, checked with Debian's awscli.
// Handlers are hand-instrumented fixtures (lean counters + manifest), see fixtures.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ricAvailable, startContainer, type Container } from '../../scripts/local/lambda.mjs';
import { LOCAL_CREDENTIALS, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { FIXTURE_PATH, expectedCounters, fixtureMaps, writeFixture, type Shape } from './fixtures.js';
import { startProxy } from './proxy.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsGet, awsListKeys, awsMaps, awsShard, coverageEnv, layerOpt, tempDir, BUCKET } from './helpers.js';

const ric = ricAvailable();
if (!ric.ok) console.warn(`SKIPPED runtime integration tests: ${ric.reason}`);
const d = ric.ok ? describe : describe.skip;

let s3: LocalS3;
let opt: string;
const containers: Container[] = [];

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  opt = layerOpt();
});
afterAll(async () => {
  await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
  await s3?.stop();
});

async function start(shape: Shape, how: 'wrapper' | 'preload', extra: Record<string, string> = {}, fn = `fn-${shape}-${how}`) {
  const taskRoot = tempDir('task');
  const fx = writeFixture(taskRoot, shape);
  const env = coverageEnv(s3.endpoint, {
    ...(how === 'wrapper'
      ? { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` }
      : { NODE_OPTIONS: `--require ${opt}/nodejs/node_modules/lambda-coverage/layer/preload.cjs` }),
    ...extra,
  });
  const c = await startContainer({ taskRoot, optDir: opt, handler: fx.handler, env, functionName: fn });
  containers.push(c);
  await c.initDone;
  return { c, fn, taskRoot };
}

const shapes: [Shape, 'wrapper' | 'preload'][] = [
  ['cjs-async', 'wrapper'], ['cjs-async', 'preload'], ['extensionless', 'wrapper'], ['esm-mjs', 'wrapper'],
  ['esm-type-module', 'preload'], ['cjs-ext', 'wrapper'], ['nested', 'wrapper'], ['cjs-callback', 'wrapper'],
];

d('handler shapes through the layer and aws-lambda-ric', () => {
  for (const [shape, how] of shapes) {
    it(`${shape} via ${how}: result and error pass through, shard and maps reach S3`, async () => {
      const { c, fn } = await start(shape, how);
      const ok1 = await c.invoke({ n: 1 });
      expect(ok1.ok).toBe(true);
      expect(ok1.payload).toMatchObject({ ok: true, n: 1, id: 'fixture' });
      const bad = await c.invoke({ fail: 'x' });
      expect(bad.ok).toBe(false);
      expect(bad.errorType).toBe('FixtureError');
      expect(bad.payload.errorMessage).toBe('boom: x');
      expect(bad.payload.trace.join('\n')).toContain('count');
      const ok2 = await c.invoke({ n: 2 });
      expect(ok2.payload.n).toBe(2);

      const keys = await awsListKeys(s3.endpoint, `coverage/${fn}/`);
      const shardKeys = keys.filter((k) => k.includes('/shards/'));
      const mapKeys = keys.filter((k) => k.includes('/maps/'));
      expect(shardKeys).toHaveLength(1);
      expect(mapKeys).toHaveLength(1);
      const shard = await awsShard(s3.endpoint, shardKeys[0]!);
      expect(shard.functionName).toBe(fn);
      expect(shard.invocations).toBe(3);
      expect(shard.files[FIXTURE_PATH]).toEqual(expectedCounters(2, 1));
      const maps = await awsMaps(s3.endpoint, mapKeys[0]!);
      expect(shard.mapId).toBe(maps.mapId);
      expect(maps.files[FIXTURE_PATH]).toEqual(fixtureMaps());
      if (shape === 'cjs-callback') {
        expect(ok1.payload.waits).toBe(true);
      }
    });
  }

  it('callback handler: callbackWaitsForEmptyEventLoop=true still waits for pending timers', async () => {
    const { c } = await start('cjs-callback', 'wrapper', {}, 'fn-cb-wait');
    const r = await c.invoke({ n: 5 });
    expect(r.ok).toBe(true);
    // The fixture set a 50 ms timer; the runtime answered only once the event loop was empty.
    expect(r.latencyMs).toBeGreaterThanOrEqual(45);
  });

  it('callback handler with callbackWaitsForEmptyEventLoop=false answers without waiting for a pending 10 min timer', async () => {
    const { c, fn } = await start('cjs-callback-nowait', 'wrapper', {}, 'fn-cb-nowait');
    // Had the runtime waited for the event loop, the function would have timed out (harness default 30 s).
    const r = await c.invoke({ n: 7 });
    expect(r.ok).toBe(true);
    expect(r.timedOut).toBeUndefined();
    expect(r.payload.n).toBe(7);
    const shardKey = (await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`))[0]!;
    expect((await awsShard(s3.endpoint, shardKey)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
  });

  it('a handler that never calls back (answered null at the empty event loop) is flushed too, inline and deferred', async () => {
    for (const flush of ['inline', 'deferred']) {
      const { c, fn } = await start('cjs-no-callback', 'wrapper', { COVERAGE_FLUSH: flush }, `fn-nocb-${flush}`);
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(true);
      expect(r.payload).toBeNull();
      const t = Date.now();
      await r.phaseEnd;
      // Deferred: the runtime reported the upload, the extension did not wait for its time bound (31 s).
      expect(Date.now() - t).toBeLessThan(20_000);
      await c.idle();
      const shardKey = (await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`))[0]!;
      expect((await awsShard(s3.endpoint, shardKey)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
    }
  }, 120_000);

  it('streaming handler: streamed bytes arrive, the streaming symbols stay on the wrapper, counters uploaded', async () => {
    const { c, fn } = await start('streaming', 'wrapper', {}, 'fn-stream');
    const r = await c.invoke({ n: 3 });
    expect(r.ok).toBe(true);
    expect(r.streamed).toBe(true);
    expect(r.body).toBe(`part1;${JSON.stringify({ ok: true, n: 3, id: 'fixture' })}`);
    const health = await c.invoke({ lambdaCoverage: 'health' });
    expect(health.streamed).toBe(true);
    expect(JSON.parse(health.body).status).toBe('healthy');
    const shardKey = (await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`))[0]!;
    expect((await awsShard(s3.endpoint, shardKey)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
  });

  it('every PUT asks for server-side encryption (AES256 default, aws:kms + key id) and ExpectedBucketOwner, signed as S3 checks it; bytes stored intact; on both upload paths', async () => {
    const proxy = await startProxy(s3.endpoint, { verify: LOCAL_CREDENTIALS });
    try {
      for (const path of ['light', 'sdk']) {
        proxy.requests.length = 0;
        const { c, fn } = await start('cjs-async', 'wrapper', { COVERAGE_S3_ENDPOINT: proxy.endpoint, COVERAGE_S3_EXPECTED_BUCKET_OWNER: '123456789012', COVERAGE_UPLOAD_PATH: path }, `fn-sse-${path}`);
        await c.invoke({ n: 1 });
        const puts = proxy.requests.filter((r) => r.method === 'PUT');
        expect(puts.length).toBe(2); // the shard and the maps, once
        for (const p of puts) {
          expect(p.verified).toBe(true);
          expect(p.headers['x-amz-server-side-encryption']).toBe('AES256');
          expect(p.headers['x-amz-expected-bucket-owner']).toBe('123456789012');
          // WHEN_REQUIRED with a custom endpoint: no streamed (aws-chunked) body for the store to mangle.
          expect(String(p.headers['content-encoding'] ?? '')).not.toContain('aws-chunked');
        }
        // The maps existence check (HEAD) carries the owner too.
        expect(proxy.requests.find((r) => r.method === 'HEAD')?.headers['x-amz-expected-bucket-owner']).toBe('123456789012');
        const key = (await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`))[0]!;
        const got = await awsGet(s3.endpoint, key);
        expect(got.bytes[0]).toBe(0x1f);
        expect((await awsShard(s3.endpoint, key)).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
        expect((await c.invoke({ lambdaCoverage: 'health' })).payload.upload_path).toBe(path);

        proxy.requests.length = 0;
        const kms = await start('cjs-async', 'wrapper', { COVERAGE_S3_ENDPOINT: proxy.endpoint, COVERAGE_S3_SSE: 'aws:kms', COVERAGE_S3_KMS_KEY_ID: 'alias/coverage', COVERAGE_UPLOAD_PATH: path }, `fn-kms-${path}`);
        await kms.c.invoke({ n: 1 });
        const kmsPut = proxy.requests.find((r) => r.method === 'PUT' && r.path.includes('/shards/'));
        expect(kmsPut?.verified).toBe(true);
        expect(kmsPut?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
        expect(kmsPut?.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/coverage');
      }
    } finally {
      await proxy.stop();
    }
  });

  it('exec wrapper and preload both set: the handler is wrapped once, one shard', async () => {
    const { c, fn } = await start('cjs-async', 'wrapper', { NODE_OPTIONS: `--require ${opt}/nodejs/node_modules/lambda-coverage/layer/preload.cjs` }, 'fn-both');
    await c.invoke({ n: 1 });
    await c.invoke({ n: 2 });
    const keys = await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`);
    expect(keys).toHaveLength(1);
    expect((await awsShard(s3.endpoint, keys[0]!)).files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));
  });

  it('a handler that cannot be loaded fails init with the same error type and message as without the layer', async () => {
    const taskRoot = tempDir('task-init');
    writeFileSync(join(taskRoot, 'index.js'), 'exports.other = async () => 1;\n');
    writeFileSync(join(taskRoot, 'broken.js'), 'exports.handler = async () => {;\n');
    for (const handler of ['missing.handler', 'index.handler', 'index.other.deeper', 'broken.handler']) {
      const seen = [];
      for (const env of [{}, coverageEnv(s3.endpoint, { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` })]) {
        const c = await startContainer({ taskRoot, optDir: opt, handler, env, functionName: 'fn-init-error' });
        containers.push(c);
        await c.initDone.catch(() => undefined);
        const r = await c.invoke({});
        expect(r.ok).toBe(false);
        seen.push({ errorType: r.errorType, errorMessage: String(r.payload?.errorMessage).split('\n')[0] });
      }
      expect(seen[1], handler).toEqual(seen[0]);
    }
  });

  it('COVERAGE_ENABLED unset: the wrapper changes nothing and nothing is uploaded', async () => {
    const { c, fn } = await start('cjs-async', 'wrapper', { COVERAGE_ENABLED: '0' }, 'fn-off');
    const r = await c.invoke({ n: 1 });
    expect(r.payload).toMatchObject({ ok: true, n: 1 });
    const h = await c.invoke({ lambdaCoverage: 'health' });
    // Not intercepted: the user's handler answered the health event.
    expect(h.payload).toMatchObject({ ok: true, id: 'fixture' });
    expect(await awsListKeys(s3.endpoint, `coverage/${fn}/`)).toEqual([]);
  });
});
