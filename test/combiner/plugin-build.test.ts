// A real esbuild build with the project's plugin (lean bundle + build manifest), the bundle run as
// several "containers", their counters written as shards: the combined report equals Istanbul's own
// merge of the same invocations run in a classic (lean: false) build, and --manifest adds the file
// that was bundled but never ran.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import libCoverage from 'istanbul-lib-coverage';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { coverageInstrument } from '../../plugin/index.js';
import { main } from '../../combiner/main.js';
import {
  FORMAT_VERSION, MANIFEST_FILE, MAPS_FORMAT, SHARD_FORMAT, computeMapId, countersToArray, parseManifest,
  type FileMaps, type Shard,
} from '../../contract/format.js';
import { APP, writeShardFiles, type IstanbulData } from './helpers.js';

let work: string;
const events = Array.from({ length: 12 }, (_, i) => ({ n: [-2, 0, 5, 900][i % 4]!, name: i % 3 ? 'x' : '', loud: i % 2 === 0 }));

async function build(outdir: string, lean: boolean): Promise<string> {
  await esbuild.build({
    entryPoints: [join(APP, 'src/handler.js')], bundle: true, platform: 'node', format: 'cjs', outdir, absWorkingDir: APP,
    logLevel: 'silent', plugins: [coverageInstrument({ enabled: true, lean, cwd: APP, cache: false, workers: 0, summary: false })],
  });
  return join(outdir, 'handler.js');
}

/** One container: a fresh context, the bundle loaded once, `calls` events handled. */
async function container(bundle: string, calls: typeof events): Promise<IstanbulData> {
  const context = vm.createContext({ require: () => { throw new Error('no require'); } });
  const module = { exports: {} as { handler: (e: unknown) => Promise<unknown> } };
  vm.runInContext(`(function (module, exports) {${readFileSync(bundle, 'utf8')}\n})`, context)(module, module.exports);
  for (const e of calls) await module.exports.handler(e);
  return JSON.parse(JSON.stringify((context as { __coverage__: IstanbulData }).__coverage__)) as IstanbulData;
}

beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'lc-comb-plugin-')); });
afterAll(() => { rmSync(work, { recursive: true, force: true }); });

it('shards from a real lean plugin build combine to what a classic build counts, and the manifest adds never-run files', async () => {
  const leanBundle = await build(join(work, 'lean'), true);
  const manifestFile = join(work, 'lean', MANIFEST_FILE);
  const manifest = parseManifest(JSON.parse(readFileSync(manifestFile, 'utf8')));
  expect(Object.keys(manifest.files).sort()).toEqual(['src/calc.js', 'src/greet.js', 'src/handler.js', 'src/never.js']);

  // Three containers of the lean bundle → shards + maps (what the runtime uploads).
  const groups = [events.slice(0, 5), events.slice(5, 6), events.slice(6)];
  for (const [c, calls] of groups.entries()) {
    const cov = await container(leanBundle, calls);
    expect(cov['src/calc.js']).not.toHaveProperty('statementMap'); // lean: counters only
    const maps: Record<string, FileMaps> = {};
    for (const k of Object.keys(cov)) maps[k] = manifest.files[k]!;
    const mapId = computeMapId(Object.values(maps));
    const shard: Shard = {
      format: SHARD_FORMAT, version: FORMAT_VERSION, functionName: 'fixture', functionVersion: '1', containerId: `c${c}`,
      startedAt: '2026-11-01T00:00:00.000Z', updatedAt: '2026-11-01T00:01:00.000Z', invocations: calls.length, mapId,
      files: Object.fromEntries(Object.entries(cov).map(([k, v]) => [k, { hash: v.hash, s: countersToArray(v.s), f: countersToArray(v.f), b: countersToArray(v.b) }])),
    };
    writeShardFiles(join(work, 'shards'), 'coverage/', { shard, maps: { format: MAPS_FORMAT, version: FORMAT_VERSION, mapId, files: maps } });
  }
  let stderr = '';
  const code = await main(['combine', '--dir', join(work, 'shards'), '--manifest', manifestFile, '--out', join(work, 'report'), '--reporter', 'json', '--source-root', APP],
    { stdout: () => {}, stderr: (t) => { stderr += t; }, cwd: work, env: {}, progress: false });
  expect(code, stderr).toBe(0);
  const ours = JSON.parse(readFileSync(join(work, 'report/coverage-final.json'), 'utf8')) as IstanbulData;

  // The same containers on a classic build, merged by istanbul-lib-coverage.
  const fullBundle = await build(join(work, 'full'), false);
  const reference = libCoverage.createCoverageMap({});
  for (const calls of groups) reference.merge((await container(fullBundle, calls)) as unknown as libCoverage.CoverageMapData);
  const ref = JSON.parse(JSON.stringify(reference)) as IstanbulData;

  expect(Object.keys(ours).sort()).toEqual(['src/calc.js', 'src/greet.js', 'src/handler.js', 'src/never.js']);
  for (const k of Object.keys(ref)) {
    expect({ s: ours[k]!.s, f: ours[k]!.f, b: ours[k]!.b, statementMap: ours[k]!.statementMap }, k)
      .toEqual({ s: ref[k]!.s, f: ref[k]!.f, b: ref[k]!.b, statementMap: ref[k]!.statementMap });
  }
  expect(ref['src/never.js']).toBeUndefined();
  expect(Object.values(ours['src/never.js']!.s).every((n) => n === 0)).toBe(true);
});
