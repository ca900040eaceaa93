// A real coverageInstrument() build (lean counters + manifest) of a small TypeScript function, with
// withCoverage bundled in (the explicit form) and, separately, the same bundle behind the layer:
// through aws-lambda-ric to the local S3 server, checked with awscli against the maps and against
// the same bundle run in-process.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coverageInstrument } from '../../plugin/index.js';
import { nodeBinary, ricAvailable, startContainer, type Container } from '../../scripts/local/lambda.mjs';
import { localS3Env, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { MAPS_FILE_PATTERN, checkCountersMatchMaps, parseMaps } from '../../contract/format.js';
import { gunzipSync } from 'node:zlib';
import { COVERAGE_GLOBAL } from '../../runtime/coverage-global.js';
import { awsGet, awsListKeys, awsMaps, awsShard, coverageEnv, layerOpt, tempDir, BUCKET } from './helpers.js';

const ric = ricAvailable();
if (!ric.ok) console.warn(`SKIPPED plugin-build runtime tests: ${ric.reason}`);
const d = ric.ok ? describe : describe.skip;
const RUNTIME_ENTRY = fileURLToPath(new URL('../../dist/runtime/index.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/combiner/cli.js', import.meta.url));

let s3: LocalS3;
let opt: string;
const containers: Container[] = [];
beforeAll(async () => { s3 = await startLocalS3({ buckets: [BUCKET] }); opt = layerOpt(); });
afterAll(async () => {
  await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
  await s3?.stop();
});

/** A tiny TS project: two modules, a branch, an unused function. */
function project(explicit: boolean): string {
  const dir = tempDir('proj');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'math.ts'), `export function classify(n: number): string {
  if (n < 0) return 'negative';
  return n % 2 === 0 ? 'even' : 'odd';
}
export function unused(): number { return 42; }
`);
  writeFileSync(join(dir, 'src', 'handler.ts'), `import { classify } from './math';
${explicit ? "import { withCoverage } from 'lambda-coverage/runtime';" : ''}
interface Ev { n: number }
async function main(event: Ev) {
  if (typeof event.n !== 'number') throw new TypeError('n must be a number');
  return { kind: classify(event.n) };
}
export const handler = ${explicit ? 'withCoverage(main)' : 'main'};
`);
  return dir;
}

async function bundle(dir: string, explicit: boolean): Promise<string> {
  const out = join(dir, 'dist');
  await build({
    absWorkingDir: dir, entryPoints: ['src/handler.ts'], bundle: true, platform: 'node', target: 'node22',
    format: 'esm', outfile: join(out, 'index.mjs'), logLevel: 'silent',
    ...(explicit ? { alias: { 'lambda-coverage/runtime': RUNTIME_ENTRY } } : {}),
    plugins: [coverageInstrument({ enabled: true, cwd: dir, cache: false, workers: 0, summary: false })],
  });
  return out;
}

const events = [{ n: 1 }, { n: 2 }, { n: -3 }, { n: 'x' }, { n: 4 }];

async function inProcess(file: string) {
  const script = `const m = await import(${JSON.stringify(file)}); for (const e of ${JSON.stringify(events)}) { try { await m.handler(e, {}); } catch {} } process.stdout.write(JSON.stringify(globalThis[${JSON.stringify(COVERAGE_GLOBAL)}]));`;
  const { stdout } = await promisify(execFile)(nodeBinary(), ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '' } });
  return JSON.parse(stdout) as Record<string, { hash: string; s: Record<string, number>; f: Record<string, number>; b: Record<string, number[]> }>;
}

d('a real plugin build', () => {
  for (const explicit of [true, false]) {
    it(explicit ? 'withCoverage bundled in (explicit form): shard + maps match the build and the in-process counts' : 'behind the layer (zero code change): same result', async () => {
      const dir = project(explicit);
      const taskRoot = await bundle(dir, explicit);
      const fn = explicit ? 'plugin-explicit' : 'plugin-layer';
      const env = coverageEnv(s3.endpoint, explicit ? {} : { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` });
      const c = await startContainer({ taskRoot, optDir: explicit ? undefined : opt, handler: 'index.handler', env, functionName: fn });
      containers.push(c);
      await c.initDone;
      const results = [];
      for (const e of events) results.push(await c.invoke(e));
      expect(results.map((r) => r.ok)).toEqual([true, true, true, false, true]);
      expect(results[2]!.payload).toEqual({ kind: 'negative' });
      expect(results[3]!.errorType).toBe('TypeError');

      const [shardKey] = await awsListKeys(s3.endpoint, `coverage/${fn}/shards/`);
      const [mapKey] = await awsListKeys(s3.endpoint, `coverage/${fn}/maps/`);
      const shard = await awsShard(s3.endpoint, shardKey!);
      const maps = await awsMaps(s3.endpoint, mapKey!);
      expect(Object.keys(shard.files).sort()).toEqual(['src/handler.ts', 'src/math.ts']);
      for (const [path, counters] of Object.entries(shard.files)) checkCountersMatchMaps(counters, maps.files[path]!, path);
      const local = await inProcess(join(taskRoot, 'index.mjs'));
      for (const [path, counters] of Object.entries(shard.files)) {
        const l = local[path]!;
        expect(counters).toEqual({ s: Object.values(l.s), f: Object.values(l.f), b: Object.values(l.b) });
        expect(maps.files[path]!.hash).toBe(l.hash);
      }
      // `unused` never ran; `classify` ran 4 times.
      const fnNames = Object.values(maps.files['src/math.ts']!.fnMap).map((f) => f.name);
      expect(shard.files['src/math.ts']!.f[fnNames.indexOf('unused')]).toBe(0);
      expect(shard.files['src/math.ts']!.f[fnNames.indexOf('classify')]).toBe(4);

      // Cross-check with the combiner's CLI (a real child process) reading the same bucket.
      if (!explicit) {
        const out = tempDir('report');
        await promisify(execFile)(nodeBinary(), [CLI, 'combine', '--bucket', BUCKET, '--function', fn, '--endpoint-url', s3.endpoint,
          '--force-path-style', '--reporter', 'json', '--out', out, '--quiet', '--no-progress', '--threads', '0'],
        { env: { PATH: process.env.PATH ?? '', HOME: out, ...localS3Env(s3.endpoint) } });
        const final = JSON.parse(readFileSync(join(out, 'coverage-final.json'), 'utf8')) as Record<string, { path: string; f: Record<string, number> }>;
        const math = Object.values(final).find((f) => f.path.endsWith('src/math.ts'))!;
        expect(math.f[String(fnNames.indexOf('classify'))]).toBe(4);
        expect(math.f[String(fnNames.indexOf('unused'))]).toBe(0);
      }
    });
  }

  it('the layer sends the maps document the plugin wrote beside the manifest as its bytes; without it, it builds the same document from the manifest', async () => {
    const taskRoot = await bundle(project(false), false);
    const [name, ...others] = readdirSync(taskRoot).filter((n) => MAPS_FILE_PATTERN.test(n));
    expect(others).toEqual([]);
    const prebuilt = readFileSync(join(taskRoot, name!));
    const stored = async (fn: string) => {
      const env = coverageEnv(s3.endpoint, { AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` });
      const c = await startContainer({ taskRoot, optDir: opt, handler: 'index.handler', env, functionName: fn });
      containers.push(c);
      await c.initDone;
      expect((await c.invoke(events[0])).ok).toBe(true);
      const keys = await awsListKeys(s3.endpoint, `coverage/${fn}/maps/`);
      expect(keys).toHaveLength(1);
      return { key: keys[0]!, bytes: (await awsGet(s3.endpoint, keys[0]!)).bytes };
    };
    const sent = await stored('plugin-maps-file');
    expect(sent.key.endsWith(`/${name!.replace('lambda-coverage-maps-', '')}`)).toBe(true);
    expect(Buffer.compare(sent.bytes, prebuilt)).toBe(0);
    rmSync(join(taskRoot, name!));
    const built = await stored('plugin-maps-built');
    expect(Buffer.compare(built.bytes, prebuilt)).not.toBe(0);
    expect(parseMaps(JSON.parse(gunzipSync(built.bytes).toString('utf8')))).toEqual(parseMaps(JSON.parse(gunzipSync(prebuilt).toString('utf8'))));
  });
});
