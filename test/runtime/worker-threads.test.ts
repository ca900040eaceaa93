// Lambda Managed Instances run several worker threads per sandbox, each with its own globalThis (and
// so its own __coverage__). Real worker threads in one process, each running the built runtime
// (dist/) with the explicit withCoverage form, uploading to the real local S3 server: one shard per
// thread, each with its own counters, checked with awscli.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { FIXTURE_HASH, FIXTURE_PATH, fixtureManifest } from './fixtures.js';
import { awsListKeys, awsShard, coverageEnv, tempDir, BUCKET } from './helpers.js';
import { writeFileSync } from 'node:fs';

const RUNTIME = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'runtime', 'index.js')).href;

// One "worker thread of the sandbox": its own counters, `n` invocations of a wrapped handler.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { withCoverage } = await import(${JSON.stringify(RUNTIME)});
  const fc = { path: ${JSON.stringify(FIXTURE_PATH)}, hash: ${JSON.stringify(FIXTURE_HASH)}, s: { 0: 0, 1: 0, 2: 0, 3: 0 }, f: { 0: 0, 1: 0 }, b: { 0: [0, 0] } };
  globalThis.__coverage__ = { [fc.path]: fc };
  const handler = withCoverage(async () => { fc.f[0]++; fc.s[0]++; fc.b[0][1]++; fc.s[2]++; return 'ok'; });
  const ctx = { awsRequestId: 'r', getRemainingTimeInMillis: () => 20000 };
  for (let i = 0; i < workerData.n; i++) await handler({}, ctx);
  parentPort.postMessage('done');
})().catch((e) => parentPort.postMessage(String(e && e.stack || e)));
`;

let s3: LocalS3;
beforeAll(async () => { s3 = await startLocalS3({ buckets: [BUCKET] }); });
afterAll(async () => { await s3?.stop(); });

function runWorker(env: Record<string, string>, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { n }, env });
    w.once('message', (m: string) => { void w.terminate().then(() => resolve(m)); });
    w.once('error', reject);
  });
}

describe('worker threads (Lambda Managed Instances)', () => {
  it('each thread writes its own shard with its own counters', async () => {
    const taskRoot = tempDir('threads');
    writeFileSync(join(taskRoot, 'lambda-coverage-manifest.json'), JSON.stringify(fixtureManifest()));
    const env = {
      ...process.env as Record<string, string>,
      ...coverageEnv(s3.endpoint),
      LAMBDA_TASK_ROOT: taskRoot, AWS_LAMBDA_FUNCTION_NAME: 'fn-threads', TMPDIR: tempDir('threads-tmp'),
    };
    expect(await Promise.all([runWorker(env, 2), runWorker(env, 5)])).toEqual(['done', 'done']);
    const keys = await awsListKeys(s3.endpoint, 'coverage/fn-threads/shards/');
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => /-t\d+\.json\.gz$/.test(k))).toBe(true);
    const got = await Promise.all(keys.map((k) => awsShard(s3.endpoint, k)));
    expect(got.map((sh) => sh.invocations).sort()).toEqual([2, 5]);
    expect(got.map((sh) => sh.files[FIXTURE_PATH]!.f[0]).sort()).toEqual([2, 5]);
  });
});
