// A container's first flush, against the real local S3 server behind a recording proxy: the shard's
// PUT goes beside the maps HEAD, on the answer S3 usually gives (another container of this build
// wrote the maps). When S3 does not have them and the manifest lacks a file's maps, the shard that
// went out named maps that will never exist: it is sent again for the maps the manifest gives.
// Inline mode also starts that first flush's HEAD while the container's first invocation runs
// (Collector.prepare, from the layer's before()): in this process, then through the real layer and
// aws-lambda-ric with a handler that waits as one calling a downstream service would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { Collector } from '../../runtime/collector.js';
import { parseConfig } from '../../runtime/config.js';
import { CoverageLog } from '../../runtime/log.js';
import { ricAvailable, startContainer, type Container } from '../../scripts/local/lambda.mjs';
import { FIXTURE_HASH, FIXTURE_PATH, expectedCounters, fixtureManifest, fixtureMaps, writeFixture } from './fixtures.js';
import { startProxy, type S3Proxy } from './proxy.js';
import { awsListKeys, awsMaps, awsShard, coverageEnv, layerOpt, tempDir, waitFor } from './helpers.js';

let s3: LocalS3;
let proxy: S3Proxy;
let taskRoot: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: ['cov-bucket'] });
  proxy = await startProxy(s3.endpoint);
  taskRoot = tempDir('first-flush');
  // The light path takes the credentials from the process environment, as on Lambda.
  const env = coverageEnv(proxy.endpoint);
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const) { saved[k] = process.env[k]; process.env[k] = env[k]; }
  writeFileSync(join(taskRoot, 'lambda-coverage-manifest.json'), JSON.stringify(fixtureManifest([fixtureMaps(), fixtureMaps(LATE_PATH, LATE_HASH)])));
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  await proxy?.stop();
  await s3?.stop();
});

/** A file of the build that registers its counters only later (a module imported lazily). */
const LATE_PATH = 'src/late.ts';
const LATE_HASH = 'hand-instrumented-late-v1';

const lean = (hash: string) => ({ path: 'x', hash, s: { 0: 1, 1: 0 }, f: { 0: 1 }, b: { 0: [1, 0] } });

function collector(functionName: string, scope: object): Collector {
  const { config, ok } = parseConfig(coverageEnv(proxy.endpoint, { AWS_LAMBDA_FUNCTION_NAME: functionName }));
  return new Collector({ config, active: ok, taskRoot, handlerDir: taskRoot, scope, log: new CoverageLog(() => undefined), tmpDir: tempDir('first-flush-tmp') });
}

const since = (n: number) => proxy.requests.slice(n).map((r) => `${r.method} ${r.path.includes('/maps/') ? 'maps' : r.path.includes('/shards/') ? 'shard' : r.path}`);

describe('a container\'s first flush', () => {
  it('with the maps in S3: one HEAD and one shard PUT, no maps written; later flushes send the shard only', async () => {
    const scope = { __coverage__: { [FIXTURE_PATH]: lean(FIXTURE_HASH) } };
    const writer = collector('ff-present', scope);
    expect((await writer.flush(Date.now() + 10_000)).outcome).toBe('uploaded');
    const n = proxy.requests.length;
    const c = collector('ff-present', scope);
    expect((await c.flush(Date.now() + 10_000)).outcome).toBe('uploaded');
    expect(since(n).sort()).toEqual(['HEAD maps', 'PUT shard']);
    scope.__coverage__[FIXTURE_PATH].s[1]++;
    const m = proxy.requests.length;
    expect((await c.flush(Date.now() + 10_000)).outcome).toBe('uploaded');
    expect(since(m)).toEqual(['PUT shard']);
    const shard = await awsShard(s3.endpoint, c.shardKey);
    expect(shard.files[FIXTURE_PATH]!.s).toEqual([1, 1]);
  });

  it('maps not in S3 and a file without maps: the shard is sent again, naming the maps written, without that file', async () => {
    const scope = { __coverage__: { [FIXTURE_PATH]: lean(FIXTURE_HASH), 'src/new.ts': lean('not-in-the-manifest') } };
    const c = collector('ff-missing', scope);
    const n = proxy.requests.length;
    expect((await c.flush(Date.now() + 10_000)).outcome).toBe('uploaded');
    expect(since(n).filter((r) => r === 'PUT shard')).toHaveLength(2);
    const shard = await awsShard(s3.endpoint, c.shardKey);
    expect(Object.keys(shard.files)).toEqual([FIXTURE_PATH]);
    const maps = await awsListKeys(s3.endpoint, 'coverage/ff-missing/maps/');
    expect(maps).toEqual([`coverage/ff-missing/maps/${shard.mapId}.json.gz`]);
    expect(Object.keys((await awsMaps(s3.endpoint, maps[0]!)).files)).toEqual([FIXTURE_PATH]);
  });
});

describe('the first flush prepared while the first invocation runs (Collector.prepare)', () => {
  const heads = (n: number) => since(n).filter((r) => r === 'HEAD maps').length;

  it('prepare() sends the maps HEAD; the first flush uses it: one HEAD and one shard PUT in all', async () => {
    const scope = { __coverage__: { [FIXTURE_PATH]: lean(FIXTURE_HASH) } };
    expect((await collector('ff-prepared', scope).flush(Date.now() + 10_000)).outcome).toBe('uploaded');
    const n = proxy.requests.length;
    const c = collector('ff-prepared', scope);
    c.prepare(Date.now() + 10_000);
    await waitFor('the HEAD sent by prepare()', () => heads(n) === 1);
    c.prepare(Date.now() + 10_000);
    expect((await c.flush(Date.now() + 10_000)).outcome).toBe('uploaded');
    expect(since(n).sort()).toEqual(['HEAD maps', 'PUT shard']);
    expect((await awsShard(s3.endpoint, c.shardKey)).files[FIXTURE_PATH]!.s).toEqual([1, 0]);
  });

  it('a file registered between prepare() and the flush: the maps are decided again, for both files', async () => {
    const scope: { __coverage__: Record<string, ReturnType<typeof lean>> } = { __coverage__: { [FIXTURE_PATH]: lean(FIXTURE_HASH) } };
    const c = collector('ff-grown', scope);
    const n = proxy.requests.length;
    c.prepare(Date.now() + 10_000);
    await waitFor('the HEAD sent by prepare()', () => heads(n) === 1);
    scope.__coverage__[LATE_PATH] = lean(LATE_HASH);
    expect((await c.flush(Date.now() + 10_000)).outcome).toBe('uploaded');
    expect(heads(n)).toBe(2);
    const shard = await awsShard(s3.endpoint, c.shardKey);
    expect(Object.keys(shard.files).sort()).toEqual([LATE_PATH, FIXTURE_PATH].sort());
    expect(await awsListKeys(s3.endpoint, 'coverage/ff-grown/maps/')).toEqual([`coverage/ff-grown/maps/${shard.mapId}.json.gz`]);
    expect(Object.keys((await awsMaps(s3.endpoint, `coverage/ff-grown/maps/${shard.mapId}.json.gz`)).files).sort()).toEqual([LATE_PATH, FIXTURE_PATH].sort());
  });

  it('a flush asked for before prepare(): prepare() does nothing', async () => {
    const scope = { __coverage__: { [FIXTURE_PATH]: lean(FIXTURE_HASH) } };
    const c = collector('ff-late-prepare', scope);
    const n = proxy.requests.length;
    const flushed = c.flush(Date.now() + 10_000);
    c.prepare(Date.now() + 10_000);
    expect((await flushed).outcome).toBe('uploaded');
    expect(heads(n)).toBe(1);
    expect((await awsShard(s3.endpoint, c.shardKey)).files[FIXTURE_PATH]!.s).toEqual([1, 0]);
  });
});

const ric = ricAvailable();
if (!ric.ok) console.warn(`SKIPPED the prepared first flush through the layer: ${ric.reason}`);
const d = ric.ok ? describe : describe.skip;

d('the prepared first flush through the layer and aws-lambda-ric', () => {
  let opt: string;
  const containers: Container[] = [];
  /**
   * What the waiting handler stands for: a downstream call of the function's first invocation. Long
   * enough for the HEAD to go out first on a loaded CI machine (100 ms was enough here).
   */
  const WAIT_MS = 300;

  beforeAll(() => { opt = layerOpt(); });
  afterAll(async () => { await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined))); });

  async function start(fn: string, env: Record<string, string> = {}) {
    const root = tempDir('ff-task');
    const fx = writeFixture(root, 'cjs-awaits');
    const c = await startContainer({
      taskRoot: root, optDir: opt, handler: fx.handler, functionName: fn,
      env: coverageEnv(proxy.endpoint, { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage`, ...env }),
    });
    containers.push(c);
    await c.initDone;
    return c;
  }
  const mine = (fn: string, n: number) => proxy.requests.slice(n).filter((r) => r.path.includes(`/${fn}/`));
  const kind = (path: string) => (path.includes('/maps/') ? 'maps' : path.includes('/shards/') ? 'shard' : path);
  const shardOf = async (fn: string, containerId: string) => awsShard(s3.endpoint, `coverage/${fn}/shards/${containerId}.json.gz`);
  async function containerId(c: Container): Promise<string> {
    const h = (await c.invoke({ lambdaCoverage: 'health' })).payload as { last_upload: { key: string } };
    return h.last_upload.key.split('/').at(-1)!.replace(/\.json\.gz$/, '');
  }

  it('inline: the maps HEAD reaches S3 while the handler waits, before it returns; one HEAD for the first flush; the shard is right', async () => {
    const fn = 'ff-layer';
    // The build's first container (S3 has no maps: it writes them), then a second one (it finds them).
    for (const [i, expected] of [['HEAD maps', 'PUT maps', 'PUT shard'], ['HEAD maps', 'PUT shard']].entries()) {
      const c = await start(fn);
      const n = proxy.requests.length;
      const r = await c.invoke({ n: 1, waitMs: WAIT_MS });
      expect(r.ok).toBe(true);
      const returnedAt = (r.payload as { returnedAt: number }).returnedAt;
      const sent = mine(fn, n);
      expect(sent.map((q) => `${q.method} ${kind(q.path)}`).sort(), `container ${i + 1}`).toEqual([...expected].sort());
      const head = sent.find((q) => q.method === 'HEAD')!;
      expect(head.at).toBeLessThan(returnedAt);
      // The shard is the invocation's counters: taken after the handler returned.
      for (const put of sent.filter((q) => kind(q.path) === 'shard')) expect(put.at).toBeGreaterThanOrEqual(returnedAt);
      const m = proxy.requests.length;
      expect((await c.invoke({ n: 2, waitMs: WAIT_MS })).ok).toBe(true);
      expect(mine(fn, m).map((q) => `${q.method} ${kind(q.path)}`)).toEqual(['PUT shard']);
      expect((await shardOf(fn, await containerId(c))).files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));
    }
  });

  it('inline, a health check first: it sends nothing; the first invocation after it is prepared as usual', async () => {
    const fn = 'ff-health-first';
    const c = await start(fn);
    const n = proxy.requests.length;
    expect((await c.invoke({ lambdaCoverage: 'health' })).ok).toBe(true);
    expect(mine(fn, n)).toEqual([]);
    const r = await c.invoke({ n: 1, waitMs: WAIT_MS });
    const heads = mine(fn, n).filter((q) => q.method === 'HEAD');
    expect(heads).toHaveLength(1);
    expect(heads[0]!.at).toBeLessThan((r.payload as { returnedAt: number }).returnedAt);
    expect((await shardOf(fn, await containerId(c))).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
  });

  it('provisioned concurrency: the first flush\'s HEAD is sent during init, so the first invocation sends the shard only; on-demand init sends nothing', async () => {
    const fn = 'ff-at-init';
    // The build's first container writes the maps; on-demand (the harness's default), its init sent nothing.
    let n = proxy.requests.length;
    const first = await start(fn);
    expect(mine(fn, n)).toEqual([]);
    expect((await first.invoke({ n: 1 })).ok).toBe(true);
    n = proxy.requests.length;
    const c = await start(fn, { AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' });
    expect(mine(fn, n).map((q) => `${q.method} ${kind(q.path)}`), 'during init').toEqual(['HEAD maps']);
    n = proxy.requests.length;
    expect((await c.invoke({ n: 1 })).ok).toBe(true);
    expect(mine(fn, n).map((q) => `${q.method} ${kind(q.path)}`), 'first invocation').toEqual(['PUT shard']);
    expect((await shardOf(fn, await containerId(c))).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
  });

  it('deferred: nothing is sent before the response, the HEAD included; the shard is right', async () => {
    const fn = 'ff-deferred';
    const c = await start(fn, { COVERAGE_FLUSH: 'deferred' });
    const n = proxy.requests.length;
    const r = await c.invoke({ n: 1, waitMs: WAIT_MS });
    expect(r.ok).toBe(true);
    const returnedAt = (r.payload as { returnedAt: number }).returnedAt;
    await r.phaseEnd;
    const sent = mine(fn, n);
    expect(sent.map((q) => q.method).sort()).toEqual(['HEAD', 'PUT', 'PUT']);
    for (const q of sent) expect(q.at).toBeGreaterThanOrEqual(returnedAt);
    expect((await shardOf(fn, await containerId(c))).files[FIXTURE_PATH]).toEqual(expectedCounters(1, 0));
  });
});
