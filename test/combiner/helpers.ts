// Real Istanbul coverage for the combiner tests: the fixture files are instrumented with
// istanbul-lib-instrument, run in a fresh VM context per "container", and their __coverage__ turned
// into shards with the contract's encoder, exactly as the runtime does.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createInstrumenter } from 'istanbul-lib-instrument';
import {
  FORMAT_VERSION, MANIFEST_FORMAT, MAPS_FORMAT, SHARD_FORMAT, SHARD_VERSION, computeMapId, countersToArray, encodeJsonGz, mapsKey,
  shardKey, type BuildManifest, type FileMaps, type MapsDocument, type Shard,
} from '../../contract/format.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/s3.mjs';

export const APP = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures/app');
export const FILES = ['src/calc.js', 'src/greet.js'] as const;
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const NODE22 = join(ROOT, 'node_modules/.bin/node');

export type IstanbulData = Record<string, {
  path: string; hash: string; statementMap: Record<string, unknown>; fnMap: Record<string, unknown>;
  branchMap: Record<string, { locations: unknown[] }>; s: Record<string, number>; f: Record<string, number>; b: Record<string, number[]>;
}>;

/** Instruments the fixture files (paths relative to the app root, as the plugin keys them). */
export function instrument(files: readonly string[] = FILES, sourceOf = (f: string) => readFileSync(join(APP, f), 'utf8')): Map<string, string> {
  const inst = createInstrumenter({ coverageVariable: '__coverage__', coverageGlobalScope: 'globalThis', coverageGlobalScopeFunc: false, esModules: false });
  return new Map(files.map((f) => [f, inst.instrumentSync(sourceOf(f), f)]));
}

export interface Modules {
  calc: { add(a: number, b: number): number; classify(n: number): string; unused(): number };
  greet: { greet(name?: string, loud?: boolean): string };
}

/** One "container": loads the instrumented files in a fresh context, runs `calls`, returns its __coverage__. */
export function runContainer(code: Map<string, string>, calls: (m: Modules) => void): IstanbulData {
  const context = vm.createContext({});
  const load = (f: string) => {
    const module = { exports: {} as Record<string, unknown> };
    vm.runInContext(`(function (module, exports) {${code.get(f)}\n})`, context)(module, module.exports);
    return module.exports;
  };
  const loaded = new Map([...code.keys()].map((f) => [f, load(f)]));
  const m = { calc: loaded.get('src/calc.js'), greet: loaded.get('src/greet.js') } as unknown as Modules;
  calls(m);
  return JSON.parse(JSON.stringify((context as { __coverage__: IstanbulData }).__coverage__)) as IstanbulData;
}

export function mapsOf(data: IstanbulData): Record<string, FileMaps> {
  const files: Record<string, FileMaps> = {};
  for (const [k, v] of Object.entries(data)) {
    files[k] = { path: k, hash: v.hash, statementMap: v.statementMap, fnMap: v.fnMap, branchMap: v.branchMap } as unknown as FileMaps;
  }
  return files;
}

/**
 * A lean shard + its maps document, as the runtime writes them (version 2: the hashes are in the maps
 * document only). `{ version: 1 }` in `meta` gives the older layout, each file with its hash.
 */
export function toShard(data: IstanbulData, meta: Partial<Shard> = {}): { shard: Shard; maps: MapsDocument } {
  const mapFiles = mapsOf(data);
  const mapId = computeMapId(Object.values(mapFiles));
  const files: Shard['files'] = {};
  for (const [k, v] of Object.entries(data)) {
    files[k] = { s: countersToArray(v.s), f: countersToArray(v.f), b: countersToArray(v.b) };
    if (meta.version === 1) files[k] = { hash: v.hash, ...files[k] };
  }
  const shard: Shard = {
    format: SHARD_FORMAT, version: SHARD_VERSION, functionName: 'orders', functionVersion: '$LATEST',
    containerId: 'c0', startedAt: '2026-11-01T10:00:00.000Z', updatedAt: '2026-11-01T10:05:00.000Z', invocations: 1,
    mapId, files, ...meta,
  };
  return { shard, maps: { format: MAPS_FORMAT, version: FORMAT_VERSION, mapId, files: mapFiles } };
}

export function manifestOf(data: IstanbulData): BuildManifest {
  return { format: MANIFEST_FORMAT, version: FORMAT_VERSION, createdAt: '2026-11-01T09:00:00.000Z', generator: 'test', files: mapsOf(data) };
}

/** Writes shard + maps under `root` in the S3 layout. */
export function writeShardFiles(root: string, prefix: string, s: { shard: Shard; maps: MapsDocument }): string {
  const key = shardKey(prefix, s.shard.functionName, s.shard.containerId);
  const mk = mapsKey(prefix, s.shard.functionName, s.shard.mapId!);
  for (const [k, body] of [[key, encodeJsonGz(s.shard)], [mk, encodeJsonGz(s.maps)]] as const) {
    mkdirSync(dirname(join(root, k)), { recursive: true });
    writeFileSync(join(root, k), body);
  }
  return join(root, key);
}

export function localClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint, forcePathStyle: true, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function putShard(client: S3Client, bucket: string, prefix: string, s: { shard: Shard; maps: MapsDocument }, withMaps = true): Promise<string> {
  const key = shardKey(prefix, s.shard.functionName, s.shard.containerId);
  if (withMaps) await client.send(new PutObjectCommand({ Bucket: bucket, Key: mapsKey(prefix, s.shard.functionName, s.shard.mapId!), Body: encodeJsonGz(s.maps) }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: encodeJsonGz(s.shard) }));
  return key;
}

/** Sums Istanbul data the naive way (same maps only), for expected values. */
export function sumData(list: IstanbulData[]): IstanbulData {
  const out = JSON.parse(JSON.stringify(list[0])) as IstanbulData;
  for (const d of list.slice(1)) {
    for (const [k, v] of Object.entries(d)) {
      const o = out[k]!;
      for (const i of Object.keys(v.s)) o.s[i]! += v.s[i]!;
      for (const i of Object.keys(v.f)) o.f[i]! += v.f[i]!;
      for (const i of Object.keys(v.b)) v.b[i]!.forEach((n, j) => { o.b[i]![j]! += n; });
    }
  }
  return out;
}

/** The workload: invocation i of a deterministic sequence. */
export function invoke(m: Modules, i: number): void {
  m.calc.add(i, 1);
  m.calc.classify([-5, 0, 7, 500][i % 4]!);
  if (i % 3 === 0) m.greet.greet(i % 2 === 0 ? '' : undefined, i % 5 === 0);
}

/**
 * A project root with the fixture sources, a canary file outside it holding `token`, and a link inside
 * the root to the canary (a valid relative path whose source must never be read): what the hostile
 * input tests check the combiner's reads against.
 */
export function projectWithCanary(work: string, token: string): { project: string; canary: string } {
  const project = join(work, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  for (const f of FILES) writeFileSync(join(project, f), readFileSync(join(APP, f)));
  mkdirSync(join(work, 'outside'), { recursive: true });
  const canary = join(work, 'outside', 'canary.ts');
  writeFileSync(canary, `export const secret = "${token}";\n`);
  symlinkSync(canary, join(project, 'src/leak.js'));
  return { project, canary };
}
