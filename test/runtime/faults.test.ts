// Faults caused for real, through aws-lambda-ric and the layer zip: S3 stopped and started again,
// wrong credentials, a missing bucket, a slow S3 (a delaying proxy) against the function's deadline,
// SIGTERM at shutdown, bad configuration, an uninstrumented bundle; plus two containers, many warm
// invocations, deferred mode with frozen sandboxes, Managed Instances, and the health check.
// Everything that uploads runs on both upload paths (COVERAGE_UPLOAD_PATH: light, sdk) with the same
// assertions, each against its own S3 server; what does not depend on the path runs once.
import { execFile } from 'node:child_process';
import { readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeBinary, ricAvailable, startContainer, type Container, type ContainerOptions } from '../../scripts/local/lambda.mjs';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { FIXTURE_PATH, expectedCounters, writeFixture, type Shape } from './fixtures.js';
import { computeMapId } from '../../contract/format.js';
import { startProxy } from './proxy.js';
import { awsListKeys, awsShard, coverageEnv, layerOpt, tempDir, waitFor, BUCKET } from './helpers.js';

const ric = ricAvailable();
if (!ric.ok) console.warn(`SKIPPED runtime fault tests: ${ric.reason}`);
const d = ric.ok ? describe : describe.skip;

let s3: LocalS3;
let opt: string;
let uploadPath: 'light' | 'sdk' = 'light';
const containers: Container[] = [];

beforeAll(() => {
  opt = layerOpt();
});
afterAll(async () => {
  await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
});

interface StartOpts { shape?: Shape; env?: Record<string, string>; endpoint?: string; taskRoot?: string; container?: Partial<ContainerOptions> }

async function start(fn: string, o: StartOpts = {}) {
  const taskRoot = o.taskRoot ?? tempDir('task');
  const fx = writeFixture(taskRoot, o.shape ?? 'cjs-async');
  const env = coverageEnv(o.endpoint ?? s3.endpoint, { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage`, COVERAGE_UPLOAD_PATH: uploadPath, ...o.env });
  const c = await startContainer({ taskRoot, optDir: opt, handler: fx.handler, env, functionName: fn, ...o.container });
  containers.push(c);
  await c.initDone;
  return { c, taskRoot, fx };
}

async function health(c: Container, deep = false) {
  const r = await c.invoke(deep ? { lambdaCoverage: 'health', deep: true } : { lambdaCoverage: 'health' });
  expect(r.ok).toBe(true);
  return r.payload as Record<string, any>;
}

async function shards(fn: string) {
  const keys = await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`);
  return Promise.all(keys.map((k) => awsShard(s3.endpoint, k)));
}

for (const path of ['light', 'sdk'] as const) d(`the layer under faults, on real parts (${path} upload path)`, () => {
  beforeAll(async () => {
    uploadPath = path;
    s3 = await startLocalS3({ buckets: [BUCKET] });
  });
  afterAll(async () => {
    await Promise.all(containers.splice(0).map((c) => c.shutdown().catch(() => undefined)));
    await s3?.stop();
  });
  // Tests that do not depend on the upload path run once.
  const once = (path === 'light' ? it : () => undefined) as typeof it;

  it('two containers of one function write two shards that sum to every invocation, sharing one maps object', async () => {
    const fn = 'fn-two';
    const a = await start(fn);
    const b = await start(fn);
    for (let i = 0; i < 3; i++) expect((await a.c.invoke({ n: i })).ok).toBe(true);
    for (let i = 0; i < 2; i++) expect((await b.c.invoke({ n: i })).ok).toBe(true);
    expect((await b.c.invoke({ fail: 'b' })).ok).toBe(false);
    const all = await shards(fn);
    expect(all).toHaveLength(2);
    expect(new Set(all.map((s) => s.containerId)).size).toBe(2);
    expect(new Set(all.map((s) => s.mapId)).size).toBe(1);
    // Both ran 3 invocations; b's included the failing one.
    const byFailed = all.sort((x, y) => x.files[FIXTURE_PATH]!.s[1]! - y.files[FIXTURE_PATH]!.s[1]!);
    expect(byFailed.map((x) => x.invocations)).toEqual([3, 3]);
    expect(byFailed[0]!.files[FIXTURE_PATH]).toEqual(expectedCounters(3, 0));
    expect(byFailed[1]!.files[FIXTURE_PATH]).toEqual(expectedCounters(2, 1));
    expect((await awsListKeys(s3.endpoint, `coverage/${fn}/maps/`))).toHaveLength(1);
  });

  it('many warm invocations: the shard equals the counters of the same bundle run in-process', async () => {
    const fn = 'fn-warm';
    const { c, fx } = await start(fn);
    const events = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? { fail: String(i) } : { n: i }));
    for (const e of events) await c.invoke(e);
    // The same file, the same events, in a plain Node process without Lambda or the layer.
    const script = `const m = require(${JSON.stringify(fx.file)}); (async () => { for (const e of ${JSON.stringify(events)}) { try { await m.handler(e, {}); } catch {} } process.stdout.write(JSON.stringify(globalThis.__coverage__)); })();`;
    const { stdout } = await promisify(execFile)(nodeBinary(), ['-e', script]);
    const local = JSON.parse(stdout)[FIXTURE_PATH];
    const [shard] = await shards(fn);
    expect(shard!.invocations).toBe(40);
    // A shard with a maps document leaves each file's hash to it (shard version 2).
    expect(shard!.version).toBe(2);
    expect(shard!.mapId).toBe(computeMapId([{ path: FIXTURE_PATH, hash: local.hash }]));
    expect(shard!.files[FIXTURE_PATH]).toEqual({ s: Object.values(local.s), f: Object.values(local.f), b: Object.values(local.b) });
  });

  it('S3 stopped then started: the function is fine, the state waits in /tmp, nothing is lost', async () => {
    const own = await startLocalS3({ buckets: [BUCKET] });
    const fn = 'fn-outage';
    const { c } = await start(fn, { endpoint: own.endpoint });
    expect((await c.invoke({ n: 1 })).ok).toBe(true);
    const { port, directory } = own;
    await own.stop();
    const down = await c.invoke({ n: 2 });
    expect(down.ok).toBe(true);
    expect(down.payload.n).toBe(2);
    expect((await c.invoke({ fail: 'during outage' })).errorType).toBe('FixtureError');
    const h = await health(c);
    expect(h.status).toBe('unhealthy');
    expect(h.pending).toBe(true);
    expect(h.last_upload.ok).toBe(false);
    expect(h.errors.map((e: any) => e.kind)).toContain('upload:network');
    expect(readdirSync(join(c.tmpDir, 'lambda-coverage', 'pending'))).toHaveLength(1);
    // Logged once per kind, not per invocation.
    expect(c.jsonLines('runtime').filter((l) => l.kind === 'upload:network')).toHaveLength(1);

    const back = await startLocalS3({ buckets: [BUCKET], port, directory });
    try {
      expect((await c.invoke({ n: 4 })).ok).toBe(true);
      const keys = await awsListKeys(back.endpoint, `coverage/${fn}/shards/`);
      expect(keys).toHaveLength(1);
      const shard = await awsShard(back.endpoint, keys[0]!);
      expect(shard.files[FIXTURE_PATH]).toEqual(expectedCounters(3, 1));
      expect((await health(c)).status).toBe('healthy');
      expect(readdirSync(join(c.tmpDir, 'lambda-coverage', 'pending'))).toHaveLength(0);
    } finally {
      await c.shutdown();
      await back.stop();
    }
  });

  it('SIGTERM at shutdown: the last state goes out (the layer\'s extension makes Lambda send SIGTERM)', async () => {
    const own = await startLocalS3({ buckets: [BUCKET] });
    const fn = 'fn-sigterm';
    const { c } = await start(fn, { endpoint: own.endpoint });
    const { port, directory } = own;
    await own.stop();
    expect((await c.invoke({ n: 1 })).ok).toBe(true);
    expect((await c.invoke({ n: 2 })).ok).toBe(true);
    const back = await startLocalS3({ buckets: [BUCKET], port, directory });
    try {
      const result = await c.shutdown();
      expect(result.timedOut).toBe(false);
      // Ended by SIGTERM itself after the flush, not by the SIGKILL that follows the shutdown deadline.
      expect(result.exits.find((e) => e.name === 'runtime')).toMatchObject({ signal: 'SIGTERM' });
      const keys = await awsListKeys(back.endpoint, `coverage/${fn}/shards/`);
      expect(keys).toHaveLength(1);
      expect((await awsShard(back.endpoint, keys[0]!)).files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));
    } finally {
      await back.stop();
    }
  });

  it('a runtime killed while S3 was down: the next runtime of the same sandbox sends the shard it left in /tmp', async () => {
    const own = await startLocalS3({ buckets: [BUCKET] });
    const fn = 'fn-orphan';
    const sandboxTmp = tempDir('sandbox-tmp');
    const first = await start(fn, { endpoint: own.endpoint, container: { tmpDir: sandboxTmp, timeoutMs: 3_000 } });
    const { port, directory } = own;
    await own.stop();
    expect((await first.c.invoke({ n: 1 })).ok).toBe(true);
    expect((await first.c.invoke({ n: 2 })).ok).toBe(true);
    // The runtime dies without a shutdown flush (as after a crash or a timeout).
    const rt = first.c.pids.find((p) => p.name === 'runtime')!;
    process.kill(rt.pid!, 'SIGKILL');
    await waitFor('the runtime to die', () => first.c.dead !== null);
    expect(readdirSync(join(sandboxTmp, 'lambda-coverage', 'pending'))).toHaveLength(1);

    const back = await startLocalS3({ buckets: [BUCKET], port, directory });
    try {
      const second = await start(fn, { endpoint: back.endpoint, taskRoot: first.taskRoot, container: { tmpDir: sandboxTmp } });
      expect((await second.c.invoke({ n: 3 })).ok).toBe(true);
      const keys = await awsListKeys(back.endpoint, `coverage/${fn}/shards/`);
      expect(keys).toHaveLength(2);
      const all = await Promise.all(keys.map((k) => awsShard(back.endpoint, k)));
      const sum = all.reduce((acc, sh) => acc + sh.files[FIXTURE_PATH]!.f[0]!, 0);
      expect(sum).toBe(3);
      expect(readdirSync(join(sandboxTmp, 'lambda-coverage', 'pending'))).toHaveLength(0);
      await second.c.shutdown();
    } finally {
      await back.stop();
    }
  });

  it('retries: two 503 answers are retried within the invocation; a third failure leaves the state pending for the next', async () => {
    const proxy = await startProxy(s3.endpoint);
    try {
      const { c } = await start('fn-retry', { endpoint: proxy.endpoint });
      expect((await c.invoke({ n: 1 })).ok).toBe(true);
      const shardPuts = () => proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/shards/')).length;
      const before = shardPuts();
      proxy.failNext = 2;
      expect((await c.invoke({ n: 2 })).ok).toBe(true);
      expect(shardPuts() - before).toBe(3);
      expect((await shards('fn-retry'))[0]!.files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));

      proxy.failNext = 3;
      expect((await c.invoke({ n: 3 })).ok).toBe(true);
      expect(shardPuts() - before).toBe(6);
      const h = await health(c);
      expect(h.pending).toBe(true);
      expect(h.errors.map((e: any) => e.kind)).toContain('upload:SlowDown');
      // Healed by the next flush.
      expect((await c.invoke({ n: 4 })).ok).toBe(true);
      expect((await shards('fn-retry'))[0]!.files[FIXTURE_PATH]).toEqual(expectedCounters(4, 0));
      expect((await health(c)).pending).toBe(false);
    } finally {
      await proxy.stop();
    }
  }, 120_000);

  it('wrong credentials and a missing bucket: the function answers, health says why', async () => {
    const creds = await start('fn-creds', { env: { AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' } });
    const r1 = await creds.c.invoke({ n: 1 });
    expect(r1.ok).toBe(true);
    expect(r1.payload.n).toBe(1);
    const h1 = await health(creds.c, true);
    expect(h1.status).toBe('unhealthy');
    expect(h1.last_upload.ok).toBe(false);
    expect(h1.errors[0].kind).toMatch(/^upload:(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied)$/);
    expect(h1.deep_check.ok).toBe(false);
    expect(JSON.stringify(h1)).not.toContain('WRONG');

    const bucket = await start('fn-nobucket', { env: { COVERAGE_S3_BUCKET: 'no-such-bucket' } });
    expect((await bucket.c.invoke({ n: 1 })).payload.n).toBe(1);
    const h2 = await health(bucket.c);
    expect(h2.status).toBe('unhealthy');
    expect(h2.errors.map((e: any) => e.kind)).toContain('upload:NoSuchBucket');
    expect(h2.errors.find((e: any) => e.kind === 'upload:NoSuchBucket').message).toContain('bucket does not exist');
  });

  it('an upload slower than the time left is cut short: the function never times out because of coverage', async () => {
    const proxy = await startProxy(s3.endpoint);
    proxy.delayMs = 4_000;
    try {
      const { c } = await start('fn-slow', { endpoint: proxy.endpoint, container: { timeoutMs: 2_000 } });
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(true);
      expect(r.timedOut).toBeUndefined();
      expect(r.latencyMs).toBeLessThan(2_000);
      const h = await health(c);
      expect(h.pending).toBe(true);
      expect(h.last_upload.ok).toBe(false);
      // Cut short by the deadline: timed out, or not started for lack of time.
      expect(h.errors.map((e: any) => e.kind).join()).toMatch(/upload:(timeout|deferred)/);
      // S3 fast again: the next invocation heals it. The cut-off PUT had reached the proxy whole and
      // still lands after its delay (as S3 would store a request it received): the healing write is
      // the one after it.
      proxy.delayMs = 0;
      await new Promise((r) => setTimeout(r, 4_500));
      expect((await c.invoke({ n: 2 })).ok).toBe(true);
      const [shard] = await shards('fn-slow');
      expect(shard!.files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));
    } finally {
      await proxy.stop();
    }
  });

  it('COVERAGE_UPLOAD_TIMEOUT bounds a slow upload even with plenty of function time; COVERAGE_DEBUG logs each flush', async () => {
    const proxy = await startProxy(s3.endpoint);
    try {
      const { c } = await start('fn-upload-timeout', { endpoint: proxy.endpoint, env: { COVERAGE_UPLOAD_TIMEOUT: '2', COVERAGE_DEBUG: '1' } });
      expect((await c.invoke({ n: 1 })).ok).toBe(true);
      // S3 does not answer at all: only COVERAGE_UPLOAD_TIMEOUT (2 s) can end the flush well before the
      // function's 30 s deadline, which would otherwise bound it at 29.5 s.
      const gate = proxy.hold();
      const slow = await c.invoke({ n: 2 });
      expect(slow.ok).toBe(true);
      expect(slow.latencyMs).toBeLessThan(15_000);
      const h = await health(c);
      expect(h.pending).toBe(true);
      expect(h.errors.map((e: any) => e.kind).join()).toMatch(/upload:(timeout|deferred)/);
      gate.release();
      // The held PUT, which the layer gave up on, still reaches S3 once released: let it land before
      // the healing write (S3 keeps whichever write comes last).
      await waitFor('the held requests to reach S3', () => proxy.forwarding() === 0);
      expect((await c.invoke({ n: 3 })).ok).toBe(true);
      const debug = c.jsonLines('runtime').filter((l) => l.source === 'lambda-coverage' && l.level === 'DEBUG');
      expect(debug.some((l) => l.message === 'coverage shard uploaded' && l.invocations === 3 && typeof l.ms === 'number')).toBe(true);
      const [shard] = await shards('fn-upload-timeout');
      expect(shard!.files[FIXTURE_PATH]).toEqual(expectedCounters(3, 0));
    } finally {
      await proxy.stop();
    }
  });

  it('deferred: the response leaves before the upload; the extension holds the frozen sandbox until it is done', async () => {
    const proxy = await startProxy(s3.endpoint);
    try {
      const { c } = await start('fn-deferred', { endpoint: proxy.endpoint, env: { COVERAGE_FLUSH: 'deferred' }, container: { freeze: true } });
      const first = await c.invoke({ n: 0 });
      await first.phaseEnd;
      // S3 holds every request until released: an inline flush could not answer at all.
      const gate = proxy.hold();
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(true);
      expect(r.payload.n).toBe(1);
      let ended = false;
      void r.phaseEnd.then(() => { ended = true; });
      await waitFor('the shard PUT to reach S3', () => gate.waiting() > 0);
      // The PUT is in flight: the extension keeps the invoke phase open (its own bound is 31 s).
      expect(ended).toBe(false);
      gate.release();
      await r.phaseEnd;
      // The sandbox is frozen now: the shard below is there because the phase was held for the upload.
      const [shard] = await shards('fn-deferred');
      expect(shard!.files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));
      const h = await health(c);
      expect(h.flush_mode).toBe('deferred');
      expect(h.flush_mode_note).toBeNull();
      expect(h.status).toBe('healthy');
    } finally {
      await proxy.stop();
    }
  });

  once('the extension starts no other process inline, and only mkdir + mkfifo deferred: each would be on the cold start', async () => {
    // PATH is the only way bash finds an external command: with none (inline) or just these two
    // (deferred) the extension must register, hold the phases and exit at SHUTDOWN without a word.
    const bare = tempDir('path-none');
    const fifoOnly = tempDir('path-fifo');
    for (const cmd of ['mkdir', 'mkfifo']) {
      const { stdout } = await promisify(execFile)('/bin/sh', ['-c', `command -v ${cmd}`]);
      symlinkSync(stdout.trim(), join(fifoOnly, cmd));
    }
    for (const [mode, path] of [['inline', bare], ['deferred', fifoOnly]] as const) {
      const { c } = await start(`fn-ext-${mode}`, { env: { PATH: path, COVERAGE_FLUSH: mode } });
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(true);
      await r.phaseEnd;
      const h = await health(c);
      expect(h.flush_mode).toBe(mode);
      expect(h.flush_mode_note).toBeNull();
      const [shard] = await shards(`fn-ext-${mode}`);
      expect(shard!.files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
      const { exits } = await c.shutdown();
      expect(exits.find((e) => e.name.startsWith('extension'))).toMatchObject({ code: 0, signal: null });
      expect(c.lines('extension')).toEqual([]);
    }
  });

  once('deferred: the extension holds a phase only for a runtime that said ready; health checks, no wrapper and a bad configuration are not held', async () => {
    // Held phases end at the deadline with a "released invocation … without an upload report" line:
    // none may appear. A 5 s timeout keeps a wrongly held phase short.
    const container = { timeoutMs: 5_000 };
    const { c } = await start('fn-hold', { env: { COVERAGE_FLUSH: 'deferred' }, container });
    for (const event of [{ lambdaCoverage: 'health' }, { n: 1 }, { lambdaCoverage: 'health', deep: true }]) {
      const r = await c.invoke(event);
      expect(r.ok).toBe(true);
      await r.phaseEnd;
    }
    const [shard] = await shards('fn-hold');
    expect(shard!.files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
    expect((await health(c)).flush_mode).toBe('deferred');
    for (const [fn, env] of [
      ['fn-hold-nowrap', { COVERAGE_FLUSH: 'deferred', AWS_LAMBDA_EXEC_WRAPPER: '' }],
      ['fn-hold-badconf', { COVERAGE_FLUSH: 'deferred', COVERAGE_S3_SSE: 'DES' }],
    ] as const) {
      const other = (await start(fn, { env, container })).c;
      for (let n = 0; n < 2; n++) {
        const r = await other.invoke({ n });
        expect(r.ok).toBe(true);
        await r.phaseEnd;
      }
      expect(other.lines('extension')).toEqual([]);
    }
    expect(c.lines('extension')).toEqual([]);
  });

  it('deferred on Lambda Managed Instances (no INVOKE for extensions): falls back to inline and says so', async () => {
    const { c } = await start('fn-lmi', { env: { COVERAGE_FLUSH: 'deferred' }, container: { managedInstances: true } });
    expect((await c.invoke({ n: 1 })).ok).toBe(true);
    const [shard] = await shards('fn-lmi');
    expect(shard!.files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
    const h = await health(c);
    expect(h.flush_mode).toBe('inline');
    expect(h.flush_mode_note).toContain('INVOKE');
  });

  once('bad configuration: one JSON log line naming the variable, coverage off, the function unaffected', async () => {
    const { c } = await start('fn-badconf', { env: { COVERAGE_S3_SSE: 'DES', COVERAGE_UPLOAD_TIMEOUT: 'soon' } });
    const r = await c.invoke({ n: 1 });
    expect(r.payload).toMatchObject({ ok: true, n: 1 });
    const lines = c.jsonLines('runtime').filter((l) => l.source === 'lambda-coverage');
    expect(lines.filter((l) => l.variable === 'COVERAGE_S3_SSE')).toHaveLength(1);
    expect(lines.find((l) => l.variable === 'COVERAGE_S3_SSE')!.message).toContain('COVERAGE_S3_SSE');
    const h = await health(c);
    expect(h.coverage_enabled).toBe(false);
    expect(h.status).toBe('unhealthy');
    expect(h.errors.map((e: any) => e.kind).sort()).toEqual(['config:COVERAGE_S3_SSE', 'config:COVERAGE_UPLOAD_TIMEOUT']);
    expect(await awsListKeys(s3.endpoint, 'coverage/fn-badconf/')).toEqual([]);
  });

  once('a bundle that was not instrumented: the function runs, health says so', async () => {
    const { c } = await start('fn-plain', { shape: 'uninstrumented' });
    expect((await c.invoke({ n: 1 })).payload).toEqual({ ok: true, n: 1 });
    const h = await health(c);
    expect(h.status).toBe('unhealthy');
    expect(h.instrumented_files).toBe(0);
    expect(h.errors.map((e: any) => e.kind)).toContain('not-instrumented');
  });

  it('health: the documented fields, deep write probe, opt-in HTTP route, no secrets', async () => {
    const { c } = await start('fn-health', { env: { COVERAGE_HEALTH_HTTP: '1', COVERAGE_S3_PREFIX: 'team/' } });
    await c.invoke({ n: 1 });
    const h = await health(c);
    expect(Object.keys(h).sort()).toEqual(['container_id', 'coverage_enabled', 'errors', 'flush_mode', 'flush_mode_note', 'instrumented_files', 'invocations', 'last_upload', 'layer_version', 'pending', 'per_test', 's3_config', 'status', 'timestamp', 'upload_path']);
    expect(h).toMatchObject({ status: 'healthy', coverage_enabled: true, s3_config: { bucket: BUCKET, prefix: 'team/' }, instrumented_files: 1, pending: false, errors: [], invocations: 1, upload_path: path });
    expect(h.last_upload).toMatchObject({ ok: true, error: null });
    expect(h.last_upload.key).toMatch(/^team\/fn-health\/shards\/.+\.json\.gz$/);
    const text = JSON.stringify(h);
    for (const secret of ['S3RVER', s3.endpoint, 'AWS_']) expect(text).not.toContain(secret);

    const deep = await health(c, true);
    expect(deep.deep_check).toMatchObject({ ok: true, error: null, key: 'team/fn-health/health/probe.json' });
    expect(await awsListKeys(s3.endpoint, 'team/fn-health/health/')).toEqual(['team/fn-health/health/probe.json']);

    const http = await c.invoke({ rawPath: '/__coverage/health', requestContext: { http: { method: 'GET' } }, queryStringParameters: { deep: '1' } });
    expect(http.payload.statusCode).toBe(200);
    // Deep over HTTP needs COVERAGE_HEALTH_HTTP_DEEP=1 as well (health-surface.test.ts): the shallow answer.
    const body = JSON.parse(http.payload.body);
    expect(body).toMatchObject({ status: 'healthy', deep_check_skipped: expect.stringContaining('COVERAGE_HEALTH_HTTP_DEEP=1') });
    expect(body.deep_check).toBeUndefined();
    // The health invocations did not count as function invocations.
    expect((await health(c)).invocations).toBe(1);
  });

  once('the HTTP health route is off unless COVERAGE_HEALTH_HTTP=1 (the user\'s handler answers)', async () => {
    const { c } = await start('fn-nohttp');
    const r = await c.invoke({ rawPath: '/__coverage/health', requestContext: { http: { method: 'GET' } } });
    expect(r.payload).toMatchObject({ ok: true, id: 'fixture' });
  });

  it('the S3 client is not loaded at init: the SDK path loads it at the first flush (deferred: after the first response), the light path never', async () => {
    for (const flush of ['inline', 'deferred']) {
      const { c } = await start(`fn-lazy-${flush}`, { shape: 'sdk-probe', env: { COVERAGE_FLUSH: flush } });
      // The handler runs before any flush: whatever is loaded now was loaded at init.
      const first = await c.invoke({ n: 1 });
      expect(first.payload).toMatchObject({ ok: true, sdkLoaded: false });
      await first.phaseEnd;
      const second = await c.invoke({ n: 2 });
      expect(second.payload).toMatchObject({ ok: true, sdkLoaded: path === 'sdk' });
      expect((await health(c)).last_upload.ok).toBe(true);
    }
  });
});
