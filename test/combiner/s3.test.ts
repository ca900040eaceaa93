// The combiner against a real S3-API server on 127.0.0.1 (s3rver through the AWS SDK): pagination past
// 1,000 objects, a slow response (a delaying proxy), an object deleted between LIST and GET, upload of
// the reports, the Lambda handler, and tree merging through --as-shard.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine } from '../../combiner/combine.js';
import { createHandler } from '../../combiner/handler.js';
import { encodeJsonGz, type MapsDocument, type Shard } from '../../contract/format.js';
import { LOCAL_CREDENTIALS } from '../../scripts/local/s3.mjs';
import { startS3Process, type S3Process } from './s3-process.js';
import { APP, instrument, invoke, localClient, putShard, runContainer, sumData, toShard, type IstanbulData } from './helpers.js';
import { sleep, startProxy } from './proxy.js';

const BUCKET = 'cov';
let s3: S3Process;
let client: S3Client;
let work: string;
let datas: IstanbulData[];
const code = instrument();
const saved = { ...process.env };

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) await fn(items[i++]!); }));
}

function counters(file: string) {
  const json = JSON.parse(readFileSync(file, 'utf8')) as IstanbulData;
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, { s: v.s, f: v.f, b: v.b }]));
}
function expectedOf(list: IstanbulData[]) {
  return Object.fromEntries(Object.entries(sumData(list)).map(([k, v]) => [k, { s: v.s, f: v.f, b: v.b }]));
}

const N_ORDERS = 1010;
const N_BILLING = 40;

beforeAll(async () => {
  s3 = await startS3Process([BUCKET]);
  client = localClient(s3.endpoint);
  work = mkdtempSync(join(tmpdir(), 'lc-comb-s3-'));
  // The SDK's default credential chain (as in a real deployment) reads these.
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  datas = [0, 1, 2, 3].map((c) => runContainer(code, (m) => [c, c + 4].forEach((i) => invoke(m, i))));
  const shards: { shard: Shard; maps: MapsDocument }[] = [];
  for (let i = 0; i < N_ORDERS; i++) shards.push(toShard(datas[i % 4]!, { containerId: `o${i}` }));
  for (let i = 0; i < N_BILLING; i++) shards.push(toShard(datas[i % 4]!, { containerId: `b${i}`, functionName: 'billing' }));
  await putShard(client, BUCKET, 'coverage/', shards[0]!);
  await putShard(client, BUCKET, 'coverage/', shards[N_ORDERS]!);
  await pool(shards, 24, (s) => putShard(client, BUCKET, 'coverage/', s, false));
}, 120_000);

afterAll(async () => {
  process.env = saved;
  client?.destroy();
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

const base = () => ({ bucket: BUCKET, endpointUrl: s3.endpoint, forcePathStyle: true, env: {}, cwd: work, reporters: ['json', 'json-summary'] });

describe('combine from S3', () => {
  it('lists past 1,000 objects (pagination) and sums every shard exactly', async () => {
    const r = await combine({ ...base(), out: 'all' });
    expect(r.summary.shards).toBe(N_ORDERS + N_BILLING);
    expect(r.summary.functions).toEqual(['billing', 'orders']);
    expect(r.summary.skipped).toEqual([]);
    const list = Array.from({ length: N_ORDERS + N_BILLING }, (_, i) => datas[(i < N_ORDERS ? i : i - N_ORDERS) % 4]!);
    expect(counters(join(work, 'all/coverage-final.json'))).toEqual(expectedOf(list));

    const only = await combine({ ...base(), out: 'billing', functions: ['billing'] });
    expect(only.summary.shards).toBe(N_BILLING);
    expect(counters(join(work, 'billing/coverage-final.json'))).toEqual(expectedOf(list.slice(N_ORDERS)));
  });

  it('waits out a slow response, retries one that stalls past --timeout, and reports a shard deleted between LIST and GET', async () => {
    const stalled = 'coverage/billing/shards/b3.json.gz';
    const deleted = 'coverage/billing/shards/b5.json.gz';
    let stalls = 0;
    const proxy = await startProxy(s3.endpoint, async (req) => {
      const url = req.url ?? '';
      if (req.method !== 'GET' || url.includes('list-type')) {
        if (url.includes('list-type')) await sleep(300); // every LIST page is slow
        return;
      }
      if (url.includes(stalled) && stalls++ === 0) await sleep(6000); // first GET stalls past the timeout
      if (url.includes(deleted)) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted }));
    });
    try {
      const r = await combine({ ...base(), endpointUrl: proxy.url, out: 'slow', functions: ['billing'], timeoutMs: 2000, concurrency: 4 });
      expect(r.summary.skipped).toEqual([{ source: `s3://${BUCKET}/${deleted}`, kind: 'missing', reason: 'deleted after it was listed' }]);
      expect(r.summary.shards).toBe(N_BILLING - 1);
      expect(r.summary.retries).toBeGreaterThanOrEqual(1);
      expect(proxy.seen.filter((s) => s.includes(stalled)).length).toBeGreaterThanOrEqual(2); // stalled, then retried
      // Bounded: never more than --concurrency downloads (+ the stalled one being abandoned) at once.
      expect(proxy.maxInFlight).toBeGreaterThan(1);
      expect(proxy.maxInFlight).toBeLessThanOrEqual(5);
      // Maps fetched once per mapId, not once per shard (40); on a loaded machine a retry of that one
      // GET is the only way to see it twice.
      const otherRetries = r.summary.retries - 1;
      expect(proxy.seen.filter((s) => s.includes('/maps/')).length).toBeLessThanOrEqual(1 + otherRetries);
      const list = Array.from({ length: N_BILLING }, (_, i) => datas[i % 4]!).filter((_, i) => i !== 5);
      expect(counters(join(work, 'slow/coverage-final.json'))).toEqual(expectedOf(list));
    } finally {
      await proxy.stop();
      await putShard(client, BUCKET, 'coverage/', toShard(datas[5 % 4]!, { containerId: 'b5', functionName: 'billing' }), false);
    }
  });

  it('refuses corrupt objects and keeps the newest of two builds, per file', async () => {
    const changed = instrument(['src/calc.js', 'src/greet.js'], (f) => readFileSync(join(APP, f), 'utf8').replace('return 42;', 'return 43 + 0;'));
    const v2 = runContainer(changed, (m) => invoke(m, 1));
    await putShard(client, BUCKET, 'mixed/', toShard(datas[0]!, { containerId: 'old-1', updatedAt: '2026-11-01T00:00:00.000Z' }));
    await putShard(client, BUCKET, 'mixed/', toShard(datas[1]!, { containerId: 'old-2', updatedAt: '2026-11-01T00:00:00.000Z' }), false);
    await putShard(client, BUCKET, 'mixed/', toShard(v2, { containerId: 'new', updatedAt: '2026-11-02T00:00:00.000Z' }));
    const full = encodeJsonGz(toShard(datas[0]!, { containerId: 'cut' }).shard);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mixed/orders/shards/cut.json.gz', Body: full.subarray(0, 40) }));
    const r = await combine({ ...base(), prefix: 'mixed', out: 'mixed' });
    expect(r.summary.skipped.map((s) => [s.source, s.kind])).toEqual([[`s3://${BUCKET}/mixed/orders/shards/cut.json.gz`, 'invalid']]);
    expect(r.summary.skipped[0]!.reason).toMatch(/not valid gzip/);
    expect(r.summary.dropped).toEqual([{ path: 'src/calc.js', keptHash: v2['src/calc.js']!.hash, droppedHashes: [datas[0]!['src/calc.js']!.hash], droppedInputs: 2 }]);
    const final = counters(join(work, 'mixed/coverage-final.json'));
    expect(final['src/calc.js']).toEqual({ s: v2['src/calc.js']!.s, f: v2['src/calc.js']!.f, b: v2['src/calc.js']!.b });
    expect(final['src/greet.js']).toEqual(expectedOf([datas[0]!, datas[1]!, v2].map((d) => ({ 'src/greet.js': d['src/greet.js']! })))['src/greet.js']);
  });

  it('merges in a tree: a result written back with --as-shard combines to the same report', async () => {
    await putShard(client, BUCKET, 'flat/', toShard(datas[0]!, { containerId: 'a', functionName: 'f1' }));
    await putShard(client, BUCKET, 'flat/', toShard(datas[1]!, { containerId: 'b', functionName: 'f2' }));
    await putShard(client, BUCKET, 'flat/', toShard(datas[2]!, { containerId: 'c', functionName: 'f3' }));
    const flat = await combine({ ...base(), prefix: 'flat/', out: 'flat' });
    // Level 1: f1 + f2 → one shard under tree/; level 2: that + f3.
    await combine({ ...base(), prefix: 'flat/', functions: ['f1', 'f2'], out: 'l1', asShard: `s3://${BUCKET}/tree/part-ab/shards/ab.json.gz` });
    await putShard(client, BUCKET, 'tree/', toShard(datas[2]!, { containerId: 'c', functionName: 'f3' }));
    const tree = await combine({ ...base(), prefix: 'tree/', out: 'tree' });
    expect(tree.summary.shards).toBe(2);
    expect(readFileSync(join(work, 'tree/coverage-final.json'), 'utf8')).toBe(readFileSync(join(work, 'flat/coverage-final.json'), 'utf8'));
    expect(tree.summary.invocations).toBe(flat.summary.invocations);
  });

  it('the Lambda handler combines in /tmp, uploads the reports and returns the keys', async () => {
    const handler = createHandler({ endpointUrl: s3.endpoint, forcePathStyle: true, env: {} });
    const res = await handler({ bucket: BUCKET, prefix: 'flat/', runId: 'nightly-1' });
    expect(res.ok).toBe(true);
    expect(res.outputPrefix).toBe('flat/combined/nightly-1/');
    expect(res.keys).toEqual(expect.arrayContaining(['flat/combined/nightly-1/lcov.info', 'flat/combined/nightly-1/cobertura-coverage.xml',
      'flat/combined/nightly-1/coverage-final.json', 'flat/combined/nightly-1/coverage-summary.json', 'flat/combined/nightly-1/index.html']));
    expect(res.summary.shards).toBe(3);
    expect(res.summary.missingSources).toEqual(['src/calc.js', 'src/greet.js']);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'flat/combined/nightly-1/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([...res.keys].sort());
    const html = await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'flat/combined/nightly-1/calc.js.html' }))).Body!.transformToString();
    expect(html).toContain('Source not shown: this file is not available where this report was made');
    await expect(handler({ prefix: 'x' })).rejects.toThrow(/event\.bucket is required/);
    // Checked before anything is read, with the field named.
    await expect(handler({ bucket: BUCKET, thresholds: { lines: '80' } })).rejects.toThrow(/event\.thresholds\.lines must be a number between 0 and 100/);
    await expect(handler({ bucket: BUCKET, thresholds: { line: 80 } })).rejects.toThrow(/event\.thresholds\.line: not a metric; use lines, branches/);
    await expect(handler({ bucket: BUCKET, maxInvalid: '3' })).rejects.toThrow(/event\.maxInvalid must be a whole number ≥ 0/);
    await expect(handler({ bucket: BUCKET, build: 'latest' })).rejects.toThrow(/event\.build must be "newest" or "all"/);
    // Whoever may invoke it names objects in S3, never files of the function's own machine.
    await expect(handler({ bucket: BUCKET, manifests: ['/proc/self/environ'] })).rejects.toThrow(/event\.manifests: "\/proc\/self\/environ" is not an s3:\/\/bucket\/key URL/);
    await expect(handler({ bucket: BUCKET, asShard: '/tmp/x.json.gz' })).rejects.toThrow(/event\.asShard must be an s3:\/\/bucket\/key URL/);
    await expect(handler({ bucket: BUCKET, limits: { maxFiles: -1 } })).rejects.toThrow(/--max-files must be a positive number/);
    await expect(handler({ bucket: BUCKET, limits: { maxEverything: 1 } })).rejects.toThrow(/limits\.maxEverything is not a bound/);
  });
});
