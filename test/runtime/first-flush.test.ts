// A container's first flush, against the real local S3 server behind a recording proxy: the shard's
// PUT goes beside the maps HEAD, on the answer S3 usually gives (another container of this build
// wrote the maps). When S3 does not have them and the manifest lacks a file's maps, the shard that
// went out named maps that will never exist: it is sent again for the maps the manifest gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { Collector } from '../../runtime/collector.js';
import { parseConfig } from '../../runtime/config.js';
import { CoverageLog } from '../../runtime/log.js';
import { FIXTURE_HASH, FIXTURE_PATH, fixtureManifest } from './fixtures.js';
import { startProxy, type S3Proxy } from './proxy.js';
import { awsListKeys, awsMaps, awsShard, coverageEnv, tempDir } from './helpers.js';

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
  writeFileSync(join(taskRoot, 'lambda-coverage-manifest.json'), JSON.stringify(fixtureManifest()));
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  await proxy?.stop();
  await s3?.stop();
});

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
