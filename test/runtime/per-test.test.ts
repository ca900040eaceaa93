// Per-test coverage in the layer, with withCoverage called in this process against the real local S3
// server: each invocation names its test through a header, W3C baggage, the client context or SQS/SNS
// message attributes; the shard (read back by the `aws` CLI) carries per test exactly the counters its
// invocations moved, the init phase what moved before the first invocation, and untagged invocations
// add nothing but totals. The test names' rule is the contract's (test/contract.test.ts).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { withCoverage } from '../../runtime/index.js';
import { parseShard, readSparse, type Shard } from '../../contract/format.js';
import { fromBaggage, testIdentity } from '../../runtime/test-identity.js';
import { PerTestRecorder } from '../../runtime/per-test.js';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FIXTURE_HASH, FIXTURE_PATH, fixtureManifest } from './fixtures.js';
import { awsListKeys, awsShard, coverageEnv, tempDir, BUCKET } from './helpers.js';

let s3: LocalS3;
let env: Record<string, string>;
let saved: NodeJS.ProcessEnv = {};
const lines: string[] = [];

// Counters in packed order: s0..s3 (0-3), f0 f1 (4-5), b0 arms (6-7).
const fc = () => (globalThis as any).__coverage__[FIXTURE_PATH];

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  const taskRoot = tempDir('pertest');
  writeFileSync(join(taskRoot, 'lambda-coverage-manifest.json'), JSON.stringify(fixtureManifest()));
  env = coverageEnv(s3.endpoint, { LAMBDA_TASK_ROOT: taskRoot, AWS_LAMBDA_FUNCTION_NAME: 'pertest', _HANDLER: 'index.handler', COVERAGE_MAX_TESTS: '3' });
  saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY, TMPDIR: tempDir('pertest-tmp') });
  // The module's load ran statement 0 once (the init phase).
  (globalThis as any).__coverage__ = {
    [FIXTURE_PATH]: { path: FIXTURE_PATH, hash: FIXTURE_HASH, s: { 0: 1, 1: 0, 2: 0, 3: 0 }, f: { 0: 0, 1: 0 }, b: { 0: [0, 0] } },
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => { lines.push(String(chunk)); return true; }) as any);
});
afterAll(async () => {
  vi.restoreAllMocks();
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'TMPDIR']) {
    if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
  }
  await s3?.stop();
});

/** The counters a record names, as offset → count. */
function counts(rec: number[] | undefined, length = 8): Record<number, number> {
  const out: Record<number, number> = {};
  if (rec !== undefined) expect(readSparse(rec, length, (o, c) => { out[o] = c; })).toBeUndefined();
  return out;
}

const http = (headers: Record<string, string>, path = 'a') => ({ version: '2.0', rawPath: `/${path}`, headers, requestContext: { http: { method: 'GET' } } });
const ctx = (clientContext?: unknown) => ({ awsRequestId: 'r', getRemainingTimeInMillis: () => 10_000, clientContext });

describe('per-test coverage in the layer (in-process, real local S3)', () => {
  it('reads the test from each place a test can say it, and refuses names outside the rule', () => {
    expect(testIdentity(http({ 'x-lambda-coverage-test': 'checkout/pays' }), undefined)).toEqual({ names: ['checkout/pays'] });
    // API Gateway REST keeps the header's spelling; ALB with multi-value headers sends arrays.
    expect(testIdentity({ headers: { 'X-Lambda-Coverage-Test': 'a' } }, undefined).names).toEqual(['a']);
    expect(testIdentity({ multiValueHeaders: { 'x-lambda-coverage-test': ['b'] } }, undefined).names).toEqual(['b']);
    expect(fromBaggage('userId=1,lambda-coverage.test=orders%2Fcreate%20VIP;prop=1,other=2')).toBe('orders/create VIP');
    expect(testIdentity(http({ baggage: 'lambda-coverage.test=via-baggage' }), undefined).names).toEqual(['via-baggage']);
    expect(testIdentity({ foo: 1 }, ctx({ custom: { 'lambda-coverage-test': 'direct' } })).names).toEqual(['direct']);
    const sqs = { Records: [
      { messageAttributes: { 'lambda-coverage-test': { stringValue: 'q1', dataType: 'String' } } },
      { messageAttributes: { 'lambda-coverage-test': { stringValue: 'q2', dataType: 'String' } } },
      { messageAttributes: { 'lambda-coverage-test': { stringValue: 'q1', dataType: 'String' } } },
      { messageAttributes: {} },
    ] };
    expect(testIdentity(sqs, undefined).names).toEqual(['q1', 'q2']);
    expect(testIdentity({ Records: [{ Sns: { MessageAttributes: { 'lambda-coverage-test': { Type: 'String', Value: 'sns' } } } }] }, undefined).names).toEqual(['sns']);
    expect(testIdentity(http({}), ctx()).names).toEqual([]);
    const bad = testIdentity(http({ 'x-lambda-coverage-test': '<script>' }), undefined);
    expect(bad.names).toEqual([]);
    expect(bad.problem).toMatch(/counted as untagged/);
    expect(testIdentity(http({ 'x-lambda-coverage-test': 'init' }), undefined).names).toEqual([]);
  });

  it('records per test what its invocations moved, the init phase apart, untagged invocations in the totals only', async () => {
    const handler = withCoverage(async (event: { rawPath?: string; Records?: unknown[] }) => {
      const c = fc();
      c.f[0]++;
      c.s[1]++;
      if (event.rawPath === '/b') { c.b[0][1]++; c.s[3]++; } else { c.b[0][0]++; c.s[2]++; }
      return 'ok';
    }, { env });
    const invoke = handler as unknown as (e: unknown, c: unknown) => Promise<unknown>;
    await invoke(http({ 'x-lambda-coverage-test': 'alpha' }, 'a'), ctx());
    await invoke(http({}, 'b'), ctx());
    await invoke(http({ baggage: 'lambda-coverage.test=beta' }, 'b'), ctx());
    await invoke(http({ 'x-lambda-coverage-test': 'alpha' }, 'a'), ctx());
    await invoke({ Records: [
      { messageAttributes: { 'lambda-coverage-test': { stringValue: 'alpha', dataType: 'String' } } },
      { messageAttributes: { 'lambda-coverage-test': { stringValue: 'gamma', dataType: 'String' } } },
    ] }, ctx());
    await invoke(http({}, 'a'), ctx({ custom: { 'lambda-coverage-test': 'beta' } }));

    const [key] = await awsListKeys(s3.endpoint, 'coverage/pertest/shards/');
    const shard: Shard = await awsShard(s3.endpoint, key!);
    expect(shard.version).toBe(3);
    expect(shard.invocations).toBe(6);
    expect(shard.files[FIXTURE_PATH]).toEqual({ s: [1, 6, 4, 2], f: [6, 0], b: [[4, 2]] });
    expect(counts(shard.init![FIXTURE_PATH])).toEqual({ 0: 1 });
    // alpha: two invocations of /a and its share of the batch (which also named gamma).
    expect(shard.tests!.alpha!.invocations).toBe(3);
    expect(counts(shard.tests!.alpha!.files[FIXTURE_PATH])).toEqual({ 1: 3, 2: 3, 4: 3, 6: 3 });
    expect(counts(shard.tests!.gamma!.files[FIXTURE_PATH])).toEqual({ 1: 1, 2: 1, 4: 1, 6: 1 });
    // beta: one /b through baggage, one /a through the client context.
    expect(shard.tests!.beta!.invocations).toBe(2);
    expect(counts(shard.tests!.beta!.files[FIXTURE_PATH])).toEqual({ 1: 2, 2: 1, 3: 1, 4: 2, 6: 1, 7: 1 });
    // The untagged /b is in the totals only: totals = init + tests + untagged (gamma shares the batch with alpha).
    expect(Object.keys(shard.tests!).sort()).toEqual(['alpha', 'beta', 'gamma']);

    // A fourth test is over COVERAGE_MAX_TESTS=3: counted as untagged, and health says so.
    await invoke(http({ 'x-lambda-coverage-test': 'delta' }, 'a'), ctx());
    const after: Shard = await awsShard(s3.endpoint, key!);
    expect(Object.keys(after.tests!).sort()).toEqual(['alpha', 'beta', 'gamma']);
    expect(after.files[FIXTURE_PATH]!.s[1]).toBe(7);
    const health = await invoke({ lambdaCoverage: 'health' }, ctx()) as { per_test: unknown };
    expect(health.per_test).toEqual({ tests: 3, limit: 3, overflow: 1 });
  });
});

describe('the per-test gzip members', () => {
  it('close the shard\'s JSON, a member per 16 tests, each recompressed only when one of its tests moves', () => {
    const files = { 'src/a.ts': { s: [1, 0, 0], f: [1], b: [[0, 0]] }, 'src/b.ts': { s: [0], f: [0], b: [] } };
    const rec = new PerTestRecorder(100, structuredClone(files));
    const head = (): Shard => ({
      format: 'lambda-coverage/shard', version: 3, functionName: 'fn', functionVersion: '1', containerId: 'c',
      startedAt: 't', updatedAt: 't', invocations: 40, mapId: 'm', files,
    });
    for (let i = 0; i < 40; i++) {
      const sink = rec.begin([`suite/t${i}`])!;
      sink.moved('src/a.ts', [1, 2 + (i % 2)], [1, i + 1], 2);
      if (i % 5 === 0) sink.moved('src/b.ts', [0], [1], 1);
      rec.end();
    }
    const body = () => {
      const members = rec.shardMembers(files, false);
      return { members, shard: parseShard(JSON.parse(gunzipSync(Buffer.concat([gzipSync(JSON.stringify(head()).slice(0, -1)), ...members])).toString())) };
    };
    const first = body();
    // 40 tests: three members of tests, and the closing one (with init).
    expect(first.members).toHaveLength(4);
    expect(Object.keys(first.shard.tests!)).toHaveLength(40);
    expect(counts(first.shard.tests!['suite/t7']!.files['src/a.ts'], 6)).toEqual({ 1: 1, 3: 8 });
    expect(counts(first.shard.tests!['suite/t10']!.files['src/b.ts'], 2)).toEqual({ 0: 1 });
    expect(counts(first.shard.init!['src/a.ts'], 6)).toEqual({ 0: 1, 3: 1 });
    // Untagged: the very same members. Test 20 moves again: only its member (the second) is new.
    const again = body();
    again.members.forEach((m, i) => expect(m, `member ${i}`).toBe(first.members[i]));
    rec.begin(['suite/t20'])!.moved('src/a.ts', [1], [2], 1);
    rec.end();
    const moved = body();
    expect(moved.members.map((m, i) => m === first.members[i])).toEqual([true, false, true, true]);
    expect(counts(moved.shard.tests!['suite/t20']!.files['src/a.ts'], 6)).toEqual({ 1: 3, 2: 21 });
    expect(moved.shard.tests!['suite/t20']!.invocations).toBe(2);
    // Counters it had not moved before, around and between the ones it had.
    rec.begin(['suite/t20'])!.moved('src/a.ts', [0, 2, 4, 5], [1, 1, 5, 2], 4);
    rec.end();
    expect(counts(body().shard.tests!['suite/t20']!.files['src/a.ts'], 6)).toEqual({ 0: 1, 1: 3, 2: 22, 4: 5, 5: 2 });
  });
});
