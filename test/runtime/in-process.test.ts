// withCoverage / flushCoverage called directly in this process (the explicit form in a custom runtime),
// against the real local S3 server behind a recording proxy: change detection (no re-send when
// nothing changed), one collector for two wrappers, pass-through of values and errors, metrics lines.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { flushCoverage, withCoverage } from '../../runtime/index.js';
import { FIXTURE_HASH, FIXTURE_PATH, fixtureManifest } from './fixtures.js';
import { startProxy, type S3Proxy } from './proxy.js';
import { awsListKeys, awsShard, coverageEnv, tempDir, BUCKET } from './helpers.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let s3: LocalS3;
let proxy: S3Proxy;
let env: Record<string, string>;
const lines: string[] = [];
let saved: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  proxy = await startProxy(s3.endpoint);
  const taskRoot = tempDir('inproc');
  writeFileSync(join(taskRoot, 'lambda-coverage-manifest.json'), JSON.stringify(fixtureManifest()));
  env = coverageEnv(proxy.endpoint, { LAMBDA_TASK_ROOT: taskRoot, AWS_LAMBDA_FUNCTION_NAME: 'inproc', COVERAGE_METRICS: '1', _HANDLER: 'index.handler' });
  // The SDK reads credentials from the process environment, and /tmp state goes to TMPDIR.
  saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY, TMPDIR: tempDir('inproc-tmp') });
  (globalThis as any).__coverage__ = {
    [FIXTURE_PATH]: { path: FIXTURE_PATH, hash: FIXTURE_HASH, s: { 0: 0, 1: 0, 2: 0, 3: 0 }, f: { 0: 0, 1: 0 }, b: { 0: [0, 0] } },
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => { lines.push(String(chunk)); return true; }) as any);
});
afterAll(async () => {
  vi.restoreAllMocks();
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'TMPDIR']) {
    if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
  }
  await proxy?.stop();
  await s3?.stop();
});

const fc = () => (globalThis as any).__coverage__[FIXTURE_PATH];
const ctx = { awsRequestId: 'r1', getRemainingTimeInMillis: () => 10_000 };
const puts = () => proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/shards/')).length;

describe('withCoverage in-process', () => {
  it('returns the handler itself when coverage is not enabled', () => {
    const h = async () => 1;
    expect(withCoverage(h, { env: {} })).toBe(h);
  });

  it('passes values and the very same error object through, uploads after each, skips unchanged counters', async () => {
    const err = new RangeError('nope');
    const handler = withCoverage(async (event: { fail?: boolean }) => {
      fc().s[0]++;
      if (event.fail) throw err;
      return { v: 1 };
    }, { env });
    expect(handler.length).toBe(1);
    // The Lambda runtime calls every handler with (event, context[, callback]).
    const invoke = handler as unknown as (e: unknown, c: unknown) => Promise<unknown>;
    expect(await invoke({}, ctx)).toEqual({ v: 1 });
    expect(puts()).toBe(1);
    await expect(invoke({ fail: true }, ctx)).rejects.toBe(err);
    expect(puts()).toBe(2);
    // Nothing counted: nothing sent.
    const idle = withCoverage(async () => 'idle', { env });
    expect(await (idle as unknown as (e: unknown, c: unknown) => Promise<unknown>)({}, ctx)).toBe('idle');
    expect(puts()).toBe(2);
    // The second wrapper shares the collector: one shard key.
    const keys = await awsListKeys(s3.endpoint, 'coverage/inproc/shards/');
    expect(keys).toHaveLength(1);
    expect((await awsShard(s3.endpoint, keys[0]!)).files[FIXTURE_PATH]!.s[0]).toBe(2);
  });

  it('wrapping twice wraps once', () => {
    const h = withCoverage(async () => 1, { env });
    expect(withCoverage(h, { env })).toBe(h);
  });

  it('flushCoverage() uploads counters changed outside an invocation', async () => {
    fc().f[1]++;
    const r = await flushCoverage({ env, timeoutMs: 5_000 });
    expect(r.outcome).toBe('uploaded');
    expect(await flushCoverage({ env })).toMatchObject({ outcome: 'unchanged' });
  });

  it('writes CloudWatch EMF metric lines when COVERAGE_METRICS=1', () => {
    const emf = lines.map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).filter((j) => j?._aws);
    expect(emf.length).toBeGreaterThan(0);
    expect(emf[0]._aws.CloudWatchMetrics[0].Metrics.map((m: any) => m.Name)).toEqual(['UploadMs', 'UploadBytes', 'UploadFailures']);
    expect(emf[0]).toMatchObject({ FunctionName: 'inproc', UploadFailures: 0 });
  });

  it('rejects a non-function with a message saying what was given', () => {
    expect(() => withCoverage(undefined as any, { env })).toThrow('handler must be a function, got undefined');
  });
});
