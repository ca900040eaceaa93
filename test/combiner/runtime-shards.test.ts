// Shards written by the real runtime: the fixture app built with the plugin (lean + manifest), run
// behind the real layer (zip from buildLayer, unpacked as /opt) in three Lambda containers on AWS's
// runtime interface client, uploading to the local S3 server; then combined from S3. The counts equal
// the same bundle run in three plain contexts, and the manifest adds the file that never ran.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine } from '../../combiner/combine.js';
import { coverageInstrument } from '../../plugin/index.js';
import { buildLayer } from '../../runtime/layer-build.js';
import { MANIFEST_FILE } from '../../contract/format.js';
import { ricAvailable, startContainer, type Container } from '../../scripts/local/lambda.mjs';
import { LOCAL_CREDENTIALS, localS3Env, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { APP, ROOT, sumData, type IstanbulData } from './helpers.js';

const ric = ricAvailable();
if (!ric.ok) console.warn(`SKIPPED combiner runtime-shard test: ${ric.reason}`);

let s3: LocalS3;
let work: string;
const containers: Container[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lc-comb-rt-'));
  s3 = await startLocalS3({ buckets: ['fleet'] });
});
afterAll(async () => {
  await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

const groups = [
  [{ n: 1, name: 'a' }, { n: 0 }, { n: 900, loud: true }],
  [{ n: -7 }],
  [{ n: 5, name: '' }, { n: 5, name: 'b', loud: true }, { n: 0 }, { n: -1 }],
];

function runInContext(bundle: string, events: object[]): Promise<IstanbulData> {
  const context = vm.createContext({});
  const module = { exports: {} as { handler: (e: unknown) => Promise<unknown> } };
  vm.runInContext(`(function (module, exports) {${readFileSync(bundle, 'utf8')}\n})`, context)(module, module.exports);
  return (async () => {
    for (const e of events) await module.exports.handler(e);
    return JSON.parse(JSON.stringify((context as { __coverage__: IstanbulData }).__coverage__)) as IstanbulData;
  })();
}

describe.runIf(ric.ok)('shards written by the real runtime', () => {
  it('three containers behind the layer combine to the same counts as three plain runs of the bundle', async () => {
    const taskRoot = join(work, 'task');
    await esbuild.build({
      entryPoints: [join(APP, 'src/handler.js')], bundle: true, platform: 'node', format: 'cjs', target: 'node22',
      outfile: join(taskRoot, 'index.js'), absWorkingDir: APP, logLevel: 'silent',
      plugins: [coverageInstrument({ enabled: true, cwd: APP, cache: false, workers: 0, summary: false })],
    });
    const opt = join(work, 'opt');
    mkdirSync(opt);
    buildLayer({ out: join(work, 'layer.zip'), print: () => undefined });
    execFileSync('unzip', ['-q', join(work, 'layer.zip'), '-d', opt]);

    const env = { ...localS3Env(s3.endpoint), COVERAGE_ENABLED: '1', COVERAGE_S3_BUCKET: 'fleet', AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` };
    for (const events of groups) {
      const c = await startContainer({ taskRoot, optDir: opt, handler: 'index.handler', env, functionName: 'orders' });
      containers.push(c);
      await c.initDone;
      for (const e of events) expect((await c.invoke(e)).ok).toBe(true);
    }
    await Promise.all(containers.splice(0).map((c) => c.shutdown()));

    const r = await combine({
      bucket: 'fleet', endpointUrl: s3.endpoint, forcePathStyle: true, env: localS3Env(s3.endpoint), cwd: work,
      manifests: [join(taskRoot, MANIFEST_FILE)], out: 'report', reporters: ['json'], sourceRoot: APP,
    });
    expect(r.summary.shards).toBe(3);
    expect(r.summary.functions).toEqual(['orders']);
    expect(r.summary.invocations).toBe(8);
    expect(r.summary.skipped).toEqual([]);
    const ours = JSON.parse(readFileSync(join(work, 'report/coverage-final.json'), 'utf8')) as IstanbulData;
    const expected = sumData(await Promise.all(groups.map((g) => runInContext(join(taskRoot, 'index.js'), g))));
    expect(Object.keys(ours).sort()).toEqual(['src/calc.js', 'src/greet.js', 'src/handler.js', 'src/never.js']);
    for (const [k, v] of Object.entries(expected)) {
      expect({ s: ours[k]!.s, f: ours[k]!.f, b: ours[k]!.b }, k).toEqual({ s: v.s, f: v.f, b: v.b });
    }
    expect(Object.values(ours['src/never.js']!.f)).toEqual([0]);
  });

  it('the combiner handler, deployed as a Lambda function, combines those shards in its /tmp and uploads the reports', async () => {
    const taskRoot = join(work, 'combiner-task');
    mkdirSync(taskRoot);
    writeFileSync(join(taskRoot, 'index.mjs'), `export { handler } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/combiner/index.js')).href)};\n`);
    const c = await startContainer({ taskRoot, handler: 'index.handler', env: localS3Env(s3.endpoint), functionName: 'coverage-combiner', memoryMb: 1024 });
    containers.push(c);
    await c.initDone;
    // The build manifest, as a pipeline would upload it next to the shards.
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    await client.send(new PutObjectCommand({ Bucket: 'fleet', Key: 'builds/orders/manifest.json', Body: readFileSync(join(work, 'task', MANIFEST_FILE)) }));
    client.destroy();
    const res = await c.invoke({ bucket: 'fleet', prefix: 'coverage/', runId: 'nightly', thresholds: { lines: 99 }, manifests: ['s3://fleet/builds/orders/manifest.json'] });
    expect(res.ok, res.body).toBe(true);
    const out = res.payload as { ok: boolean; keys: string[]; outputPrefix: string; summary: { shards: number; files: number; functions: string[] }; thresholdErrors: string[] };
    expect(out.summary.shards).toBe(3);
    expect(out.summary.files).toBe(4); // with src/never.js from the manifest
    expect(out.summary.functions).toEqual(['orders']);
    expect(out.outputPrefix).toBe('coverage/combined/nightly/');
    expect(out.keys).toEqual(expect.arrayContaining(['coverage/combined/nightly/lcov.info', 'coverage/combined/nightly/cobertura-coverage.xml', 'coverage/combined/nightly/index.html']));
    expect(out.ok).toBe(false);
    expect(out.thresholdErrors[0]).toMatch(/^ERROR: Coverage for lines \([\d.]+%\) does not meet threshold \(99%\)$/);
    expect(c.lines().join('\n')).toMatch(/read 3 shards/); // the summary in the function's log
    expect(readdirSync(c.tmpDir).filter((n) => n.startsWith('lambda-coverage-'))).toEqual([]); // /tmp cleaned
    const lcov = await fetchObject('fleet', 'coverage/combined/nightly/lcov.info');
    expect(lcov).toMatch(/^SF:src\/calc\.js$/m);
  });
});

async function fetchObject(bucket: string, key: string): Promise<string> {
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  try {
    return await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
  } finally {
    client.destroy();
  }
}
