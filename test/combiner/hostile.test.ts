// Shards are untrusted input (issue 10), tried as an attacker would: real shards written to the local
// S3-API server by the SDK, hostile objects written beside them by a separate client (Debian's aws CLI),
// then the real bin (a child process with a 1 GiB heap) and the combiner Lambda handler (a child process
// too, so a crash or an out-of-memory is seen as one) run against the bucket. The outputs are read by
// independent tools: Debian lcov, Python's expat for the XML, headless Chromium for every HTML page.
// Behaviour is asserted, not messages: exit 0/1/2 only, the good files merged with their exact counts,
// every hostile object named in `skipped` (or, when the contract allows it, merged harmlessly), no byte
// of a canary file outside the source root in any output, no live markup in any page.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FORMAT_VERSION, MAPS_FORMAT, SHARD_FORMAT, SHARD_VERSION, encodeJsonGz, mapsKey, shardKey,
  type FileMaps, type MapsDocument, type Shard,
} from '../../contract/format.js';
import { combine } from '../../combiner/combine.js';
import { chromiumAvailable, dumpDom } from '../../scripts/local/chromium.mjs';
import { localS3Env } from '../../scripts/local/s3.mjs';
import { NODE22, ROOT, instrument, invoke, localClient, projectWithCanary, putShard, runContainer, sumData, toShard, type IstanbulData } from './helpers.js';
import { startS3Process, type S3Process } from './s3-process.js';

const CLI = join(ROOT, 'dist/combiner/cli.js');
const AWS = '/usr/bin/aws';
const LCOV = '/usr/bin/lcov';
const TIME = '/usr/bin/time';
const missingTools = [AWS, LCOV, TIME, 'python3'].filter((t) => t.startsWith('/') && !existsSync(t));
if (missingTools.length > 0) console.warn(`SKIPPED hostile-input tests: ${missingTools.join(', ')} missing (scripts/system-deps.sh installs them)`);
if (!chromiumAvailable()) console.warn('SKIPPED the Chromium checks of the hostile report: /usr/bin/chromium missing (scripts/system-deps.sh installs it)');

const BUCKET = 'hostile';
const PREFIX = 'coverage/';
/** The gzip bombs and the good shards again, apart: a crash there must not hide the other findings. */
const BOMBED = 'bombed/';
/** A token no report may ever contain: it is only in a file outside the source root. */
const TOKEN = `CANARY-${randomBytes(12).toString('hex')}`;

let s3: S3Process;
let client: S3Client;
let work: string;
let project: string;
let canary: string;
let good: IstanbulData;
const env = () => ({ PATH: process.env.PATH ?? '', HOME: work, ...localS3Env(s3.endpoint) });

/** Each hostile input is one shard under its own function; `mustSkip`: the contract refuses it. */
interface Hostile { name: string; shard: string; mustSkip: boolean; prefix: string }
const hostile: Hostile[] = [];

// ---- building hostile objects ------------------------------------------------------------------------

const loc = (line: unknown = 1, column: unknown = 0, endLine: unknown = line, endColumn: unknown = 10) => ({ start: { line, column }, end: { line: endLine, column: endColumn } });
/** One statement, one function, no branches: the smallest file that renders every report section. */
function fileMaps(path: string, over: Partial<Record<keyof FileMaps, unknown>> = {}): FileMaps {
  return {
    path, hash: `h-${path.length}`,
    statementMap: { 0: loc() }, fnMap: { 0: { name: 'f', decl: loc(), loc: loc(), line: 1 } }, branchMap: {},
    ...over,
  } as unknown as FileMaps;
}
const counters = (s: unknown = [3], f: unknown = [1], b: unknown = []) => ({ s, f, b });

function shardDoc(fn: string, mapId: string | null, files: Record<string, unknown>, over: Record<string, unknown> = {}): Shard {
  return {
    format: SHARD_FORMAT, version: SHARD_VERSION, functionName: fn, functionVersion: '$LATEST', containerId: 'x1',
    startedAt: '2026-11-01T10:00:00.000Z', updatedAt: '2026-11-01T10:05:00.000Z', invocations: 1, mapId, files, ...over,
  } as unknown as Shard;
}

let stage: string;
function stageObject(key: string, body: Buffer | string): void {
  const file = join(stage, ...key.split('/'));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
}

/** A shard and its maps document: `paths` are the hostile file paths, in both. */
function addPair(name: string, mustSkip: boolean, files: Record<string, { maps?: unknown; counters?: unknown }>, shardOver: Record<string, unknown> = {}, prefix = PREFIX): void {
  const fn = `h-${name}`;
  const mapId = `m${hostile.length}`;
  const maps: Record<string, unknown> = {};
  const cs: Record<string, unknown> = {};
  for (const [p, v] of Object.entries(files)) {
    if (v.maps !== null) maps[p] = v.maps ?? fileMaps(p);
    cs[p] = v.counters ?? counters();
  }
  stageObject(mapsKey(prefix, fn, mapId), encodeJsonGz({ format: MAPS_FORMAT, version: FORMAT_VERSION, mapId, files: maps } satisfies Record<keyof MapsDocument, unknown>));
  addRaw(name, mustSkip, encodeJsonGz(shardDoc(fn, mapId, cs, shardOver)), '.json.gz', prefix);
}

/** Any bytes as a shard object of its own function. */
function addRaw(name: string, mustSkip: boolean, body: Buffer | string, ext = '.json.gz', prefix = PREFIX): string {
  const key = shardKey(prefix, `h-${name}`, 'x1').replace(/\.json\.gz$/, ext);
  stageObject(key, body);
  hostile.push({ name, shard: `s3://${BUCKET}/${key}`, mustSkip, prefix });
  return key;
}

/** ~2 GiB of spaces in a ~2 MB gzip member, made by streaming in a bounded loop (never in memory). */
async function writeBomb(file: string, bytes = 2 * 1024 **3): Promise<void> {
  const chunk = Buffer.alloc(1 << 20, 0x20);
  let left = bytes / chunk.length;
  const source = new Readable({ read() { this.push(left-- > 0 ? chunk : null); } });
  await pipeline(source, createGzip({ level: 9 }), createWriteStream(file));
}

function buildHostileObjects(bomb: Buffer): void {
  const outsideRel = relative(project, canary);
  const climb = `${'../'.repeat(20)}${canary.slice(1)}`;
  // (a) files outside the project, named by an absolute path and by climbing.
  addPair('absolute', true, { [canary]: {} });
  addPair('etc-passwd', true, { '/etc/passwd': {} });
  addPair('climb', true, { [outsideRel]: {} });
  addPair('climb-deep', true, { [climb]: {} });
  addPair('climb-inside', true, { 'src/../../outside/x.ts': {} });
  addPair('drive', true, { 'C:/Windows/win.ini': {} });
  addPair('backslash', true, { 'src\\..\\..\\x.ts': {} });
  addPair('dot-segment', true, { 'src/./calc2.js': {} });
  addPair('empty-segment', true, { 'src//calc2.js': {} });
  // A plain Istanbul coverage object (other tools' format) naming the canary absolutely.
  const plain = { [canary]: { ...fileMaps(canary), s: { 0: 1 }, f: { 0: 1 }, b: {} } };
  addRaw('plain-absolute', true, JSON.stringify(plain), '.json');
  const plainClimb = { [outsideRel]: { ...fileMaps(outsideRel), s: { 0: 1 }, f: { 0: 1 }, b: {} } };
  addRaw('plain-climb', true, JSON.stringify(plainClimb), '.json');
  // (b) markup in paths and names: allowed characters by the contract, so it may merge, but never live.
  addPair('markup-img', false, { 'src/<img src=x onerror="document.title=\'PWNED\';document.body.dataset.pwned=1">.ts': {} });
  addPair('markup-script', false, { 'src/"><script>document.title=\'PWNED\';document.body.dataset.pwned=1</script>.ts': {} });
  addPair('markup-svg', false, { '"><svg onload="document.title=\'PWNED\'">.ts': {} });
  addPair('markup-fn', false, {
    'src/markup-fn.js': { maps: fileMaps('src/markup-fn.js', { fnMap: { 0: { name: '<img src=x onerror="document.title=\'PWNED\'">', decl: loc(), loc: loc(), line: 1 } } }) },
  });
  // (c) a gzip bomb as a shard, and as a maps document a small good-looking shard points at.
  addRaw('bomb', true, bomb, '.json.gz', BOMBED);
  stageObject(mapsKey(BOMBED, 'h-bomb-maps', 'mb'), bomb);
  addRaw('bomb-maps', true, encodeJsonGz(shardDoc('h-bomb-maps', 'mb', { 'src/b.js': counters() })), '.json.gz', BOMBED);
  // (d) prototype names: `constructor` counters whose maps document lacks them; the maps' own keys.
  addPair('constructor-missing', true, { constructor: { maps: null }, toString: { maps: null } });
  addPair('proto-names', false, { __proto__x: {}, constructor: {}, toString: {}, hasOwnProperty: {} });
  const protoText = `{"format":"${MAPS_FORMAT}","version":1,"mapId":"mp","files":{"__proto__":${JSON.stringify(fileMaps('__proto__'))}}}`;
  stageObject(mapsKey(PREFIX, 'h-proto-key', 'mp'), gzipSync(protoText));
  addRaw('proto-key', false, gzipSync(`{"format":"${SHARD_FORMAT}","version":2,"functionName":"h-proto-key","functionVersion":"1","containerId":"x1","startedAt":"a","updatedAt":"b","invocations":1,"mapId":"mp","files":{"__proto__":{"s":[3],"f":[1],"b":[]}}}`));
  // (e) numbers, nesting, sizes, control characters.
  addPair('huge-counter', true, { 'src/n1.js': { counters: counters([1e300]) } });
  addPair('unsafe-counter', true, { 'src/n2.js': { counters: counters([2 ** 53 + 2]) } });
  addPair('negative-counter', true, { 'src/n3.js': { counters: counters([-1]) } });
  addPair('nan-counter', true, { 'src/n4.js': { counters: counters(['NaN']) } });
  addPair('fraction-counter', true, { 'src/n5.js': { counters: counters([0.5]) } });
  addPair('negative-invocations', true, { 'src/n6.js': {} }, { invocations: -5 });
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  addRaw('deep-array', true, gzipSync(`{"format":"${SHARD_FORMAT}","version":2,"functionName":"h-deep-array","functionVersion":"1","containerId":"x1","startedAt":"a","updatedAt":"b","invocations":1,"mapId":null,"files":{"src/d.js":{"hash":"h","s":[1],"f":[],"b":${deep(100_000)}}}}`));
  const deepObj = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  stageObject(mapsKey(PREFIX, 'h-deep-maps', 'md'), gzipSync(`{"format":"${MAPS_FORMAT}","version":1,"mapId":"md","files":{"src/dm.js":{"path":"src/dm.js","hash":"h","statementMap":{"0":${deepObj(100_000)}},"fnMap":{},"branchMap":{}}}}`));
  addRaw('deep-maps', true, encodeJsonGz(shardDoc('h-deep-maps', 'md', { 'src/dm.js': counters([1], [], []) })));
  // A million files in one shard (~30 MB of JSON, ~0.3 MB gzip'd); its maps document lists none of them.
  const many = Array.from({ length: 1_000_000 }, (_, i) => `"m/${i}.js":{"s":[],"f":[],"b":[]}`).join(',');
  stageObject(mapsKey(PREFIX, 'h-million-files', 'mm'), encodeJsonGz({ format: MAPS_FORMAT, version: 1, mapId: 'mm', files: {} }));
  addRaw('million-files', true, gzipSync(`{"format":"${SHARD_FORMAT}","version":2,"functionName":"h-million-files","functionVersion":"1","containerId":"x1","startedAt":"a","updatedAt":"b","invocations":1,"mapId":"mm","files":{${many}}}`));
  addPair('ten-million-counters', true, { 'src/big.js': { counters: counters(new Array(10_000_000).fill(0)) } });
  addPair('long-path', true, { [`src/${'a'.repeat(100_000)}.js`]: {} });
  addPair('newline-path', true, { 'src/a.js\nSF:/etc/passwd\nend_of_record\nSF:src/x.js': {} });
  addPair('nul-path', true, { 'src/a\u0000.js': {} });
  addPair('control-path', true, { 'src/a\u001b[31m.js': {} });
  // Function names with newlines: lcov's FN: lines must not be forged.
  addPair('newline-fn', false, {
    'src/fn-name.js': { maps: fileMaps('src/fn-name.js', { fnMap: { 0: { name: 'x\nSF:/etc/passwd\nDA:1,1\nend_of_record', decl: loc(), loc: loc(), line: 1 } } }) },
  });
  // Quotes, ampersands and angle brackets in a path: XML attributes (cobertura, clover) must stay well-formed.
  addPair('xml-attr', false, { 'src/q"uo\'te&amp<lt>.js': {} });
  // Locations that are not Istanbul's: strings, negative, huge.
  addPair('loc-strings', true, { 'src/l1.js': { maps: fileMaps('src/l1.js', { statementMap: { 0: loc('<b>1</b>', 'x') } }) } });
  addPair('loc-negative', false, { 'src/l2.js': { maps: fileMaps('src/l2.js', { statementMap: { 0: loc(-5, -1, -3, -1) } }) } });
  addPair('loc-huge', false, { 'src/l3.js': { maps: fileMaps('src/l3.js', { statementMap: { 0: loc(1e9, 0, 2e9, 5) } }) } });
}

// ---- running the combiner ----------------------------------------------------------------------------

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string; maxRssKb: number }

/** A child under /usr/bin/time (peak RSS), a 1 GiB heap as in a small combiner Lambda. */
function child(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const rss = join(work, `rss-${randomBytes(4).toString('hex')}`);
  return new Promise((resolveP) => {
    execFile(TIME, ['-f', '%M', '-o', rss, NODE22, ...args], {
      cwd: work, env: { ...env(), NODE_OPTIONS: '--max-old-space-size=1024', ...extraEnv }, timeout: 300_000, maxBuffer: 256 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
      const text = existsSync(rss) ? readFileSync(rss, 'utf8') : '';
      resolveP({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr,
        maxRssKb: Number(/(\d+)\s*$/.exec(text)?.[1] ?? NaN),
      });
    });
  });
}

const REPORTERS = ['html', 'lcov', 'cobertura', 'clover', 'json', 'json-summary'];
const cli = (out: string, prefix = PREFIX) => child([CLI, 'combine', '--bucket', BUCKET, '--prefix', prefix, '--endpoint-url', s3.endpoint, '--force-path-style',
  '--source-root', project, '--out', out, '--json', '--threads', '0', ...REPORTERS.flatMap((r) => ['--reporter', r])]);

const HANDLER_SCRIPT = `
const { handler } = await import(${JSON.stringify(join(ROOT, 'dist/combiner/index.js'))});
const res = await handler(JSON.parse(process.argv[1]));
process.stdout.write('\\n@@RESULT@@' + JSON.stringify(res));
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

// ---- checks on what was written ----------------------------------------------------------------------

interface Summary { shards: number; files: number; skipped: { source: string; kind: string; reason: string }[] }

function expectNoCanary(dir: string): void {
  const leaks = filesUnder(dir).filter((f) => {
    const b = readFileSync(f);
    return b.includes(TOKEN) || b.includes('root:x:0:0');
  });
  expect(leaks, 'report files containing bytes of files outside the source root').toEqual([]);
}

function expectGoodFilesExact(dir: string): void {
  const final = JSON.parse(readFileSync(join(dir, 'coverage-final.json'), 'utf8')) as IstanbulData;
  for (const f of ['src/calc.js', 'src/greet.js']) {
    expect({ s: final[f]?.s, f: final[f]?.f, b: final[f]?.b }, f).toEqual({ s: good[f]!.s, f: good[f]!.f, b: good[f]!.b });
  }
  expect(existsSync(join(dir, 'index.html'))).toBe(true);
  // Where the page sits depends on the other files' paths (istanbul nests them under a common root).
  expect(filesUnder(dir).some((f) => f.endsWith(`${sep}calc.js.html`)), 'an HTML page for src/calc.js').toBe(true);
}

function expectHostileNamed(summary: Summary, prefix = PREFIX): void {
  const skipped = new Set(summary.skipped.map((s) => s.source));
  const unnamed = hostile.filter((h) => h.prefix === prefix && h.mustSkip && !skipped.has(h.shard)).map((h) => h.name);
  expect(unnamed, 'hostile inputs merged or not named in summary.skipped').toEqual([]);
}

async function expectLcovParses(dir: string): Promise<void> {
  const lcov = readFileSync(join(dir, 'lcov.info'), 'utf8');
  // Only records of paths the report holds: no forged record from a name with a newline.
  expect(lcov.split('\n').filter((l) => /^SF:\/etc\/passwd/.test(l))).toEqual([]);
  const r = await new Promise<{ code: number; out: string }>((resolveP) => execFile(LCOV, ['--summary', join(dir, 'lcov.info')], (err, stdout, stderr) => {
    resolveP({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, out: `${stdout}${stderr}` });
  }));
  expect(r.code, r.out).toBe(0);
  expect(r.out).toMatch(/lines\.+: [\d.]+%/);
}

async function expectXmlWellFormed(file: string): Promise<void> {
  const r = await new Promise<{ code: number; out: string }>((resolveP) => execFile('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])', file], (err, stdout, stderr) => {
    resolveP({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, out: `${stdout}${stderr}` });
  }));
  expect(r.code, `${file}: ${r.out}`).toBe(0);
}

/** Every HTML page, rendered: no payload ran (title, data attribute) and no payload element exists. */
async function expectNoLiveMarkup(dir: string): Promise<void> {
  const pages = filesUnder(dir).filter((f) => f.endsWith('.html'));
  expect(pages.length).toBeGreaterThan(1);
  expect(await livePages(dir, pages), 'pages with live markup from an input').toEqual([]);
}

async function livePages(dir: string, pages: string[]): Promise<string[]> {
  const live: string[] = [];
  let i = 0;
  await Promise.all([0, 1].map(async () => {
    while (i < pages.length) {
      const page = pages[i++]!;
      const dom = await dumpDom(page);
      const tags = [...dom.matchAll(/<(img|svg|iframe|object|embed)\b[^>]*>/gi)].map((m) => m[0]);
      // The report's own scripts are its assets (src=…js) and its inline prettyPrint/sorter calls.
      const scripts = [...dom.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].filter((m) => !/^\s*src="[\w./-]+\.js"\s*$/.test(m[1]!) || m[2]!.trim() !== '');
      const foreign = [...tags.filter((t) => /\bon\w+=|PWNED/i.test(t)), ...scripts.filter((m) => /PWNED|document\.title|dataset|alert/.test(m[0])).map((m) => m[0])];
      if (/<title>[^<]*PWNED/.test(dom) || /data-pwned/.test(dom) || foreign.length > 0) live.push(`${relative(dir, page)}: ${foreign.join(' ') || 'payload ran'}`);
    }
  }));
  return live;
}

// ---- the run -----------------------------------------------------------------------------------------

beforeAll(async () => {
  if (missingTools.length > 0) return;
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < statSync(join(ROOT, 'combiner/combine.ts')).mtimeMs) {
    throw new Error('dist/combiner/cli.js is missing or older than combiner/: run `npm run build` first (npm test does)');
  }
  work = mkdtempSync(join(tmpdir(), 'lc-hostile-'));
  // The token is in the canary's content only (not its name): a path in a report is not a leak, its bytes are.
  ({ project, canary } = projectWithCanary(work, TOKEN));
  stage = join(work, 'stage');

  s3 = await startS3Process([BUCKET]);
  client = localClient(s3.endpoint);
  const code = instrument();
  const datas = [0, 1].map((c) => runContainer(code, (m) => [c, c + 2, c + 4].forEach((i) => invoke(m, i))));
  good = sumData(datas);
  for (const prefix of [PREFIX, BOMBED]) {
    for (const [c, d] of datas.entries()) await putShard(client, BUCKET, prefix, toShard(d, { containerId: `good-${c}` }), c === 0);
  }
  // The symlink: counters for src/leak.js with maps of its own, under the good function's prefix.
  addPair('symlink', false, { 'src/leak.js': {} });
  // And a directory link: every segment of `linked/canary.ts` is fine, its target is not.
  symlinkSync(join(work, 'outside'), join(project, 'linked'));
  addPair('symlink-dir', false, { 'linked/canary.ts': {} });

  const bombFile = join(work, 'bomb.gz');
  await writeBomb(bombFile);
  buildHostileObjects(readFileSync(bombFile));
  rmSync(bombFile);
  // Written by another client than the combiner's: the aws CLI, in one recursive copy.
  await new Promise<void>((resolveP, rejectP) => execFile(AWS, ['--endpoint-url', s3.endpoint, 's3', 'cp', '--recursive', '--only-show-errors', stage, `s3://${BUCKET}/`],
    { env: env(), timeout: 240_000 }, (err, _o, stderr) => (err ? rejectP(new Error(`aws s3 cp: ${stderr}`)) : resolveP())));
  rmSync(stage, { recursive: true, force: true });
}, 600_000);

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const handlerEnv = () => ({ COVERAGE_S3_ENDPOINT: s3.endpoint, AWS_ENDPOINT_URL_S3: s3.endpoint, COVERAGE_S3_FORCE_PATH_STYLE: '1' });
const handlerRun = (prefix: string, runId: string) =>
  child(['--input-type=module', '-e', HANDLER_SCRIPT, JSON.stringify({ bucket: BUCKET, prefix, runId, reporters: REPORTERS })], handlerEnv());
function resultOf(r: Run): { summary: Summary; keys: string[]; outputPrefix: string } {
  return JSON.parse(r.stdout.slice(r.stdout.indexOf('@@RESULT@@') + 10)) as { summary: Summary; keys: string[]; outputPrefix: string };
}
function summaryOf(r: Run): Summary | undefined {
  try { return (JSON.parse(r.stdout) as { summary: Summary }).summary; } catch { return undefined; }
}
function expectDocumentedExit(r: Run): void {
  expect(r.signal, r.stderr.slice(-2000)).toBeNull();
  expect([0, 1, 2], `exit ${r.code}: ${r.stderr.slice(-2000)}`).toContain(r.code);
}

describe.skipIf(missingTools.length > 0)('hostile paths, names, numbers and shapes in the bucket', () => {
  let run: Run;
  let summary: Summary | undefined;
  const out = () => join(work, 'report');

  beforeAll(async () => {
    run = await cli('report');
    summary = summaryOf(run);
  }, 600_000);

  it('the bin exits with a documented code (0, 1 or 2), never a signal or a V8 fatal error', () => {
    expectDocumentedExit(run);
  });

  it('goes on past every hostile object: the report is written and the good files have their exact counts', () => {
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(summary, 'the --json summary on stdout').toBeDefined();
    expectGoodFilesExact(out());
  });

  it('names every hostile object the contract refuses in summary.skipped', () => {
    expect(summary, run.stderr.slice(-2000)).toBeDefined();
    expectHostileNamed(summary!);
  });

  it('puts no byte of a file outside the source root into any report (absolute, ../, symlink)', () => {
    expect(existsSync(out())).toBe(true);
    expectNoCanary(out());
  });

  it('writes lcov.info that Debian lcov reads, with no record forged by a name or path', async () => {
    expect(existsSync(join(out(), 'lcov.info'))).toBe(true);
    await expectLcovParses(out());
  });

  it('writes well-formed Cobertura and Clover XML (quotes and angle brackets in paths)', async () => {
    await expectXmlWellFormed(join(out(), 'cobertura-coverage.xml'));
    await expectXmlWellFormed(join(out(), 'clover.xml'));
  });

  it.runIf(chromiumAvailable())('the Chromium check sees a payload that does run (a control page)', async () => {
    const control = join(work, 'control');
    mkdirSync(control, { recursive: true });
    writeFileSync(join(control, 'a.html'), '<html><head><title>ok</title></head><body><img src=x onerror="document.title=\'PWNED\';document.body.dataset.pwned=1"></body></html>');
    writeFileSync(join(control, 'b.html'), '<html><head><title>ok</title></head><body><pre>&lt;img src=x onerror=alert(1)&gt;</pre></body></html>');
    expect(await livePages(control, [join(control, 'a.html'), join(control, 'b.html')])).toEqual([expect.stringMatching(/^a\.html: /)]);
  });

  it.runIf(chromiumAvailable())('runs no script from an input on any HTML page (headless Chromium)', async () => {
    expect(existsSync(join(out(), 'index.html'))).toBe(true);
    await expectNoLiveMarkup(out());
  }, 600_000);

  it('the combiner Lambda handler goes on past the same objects, names them, and publishes nothing from outside or live', async () => {
    const r = await handlerRun(PREFIX, 'hostile-1');
    expectDocumentedExit(r);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const res = resultOf(r);
    expectHostileNamed(res.summary);
    expect(res.keys).toContain(`${PREFIX}combined/hostile-1/index.html`);
    // What was published, read back by the other client.
    const down = join(work, 'published');
    await new Promise<void>((resolveP, rejectP) => execFile(AWS, ['--endpoint-url', s3.endpoint, 's3', 'cp', '--recursive', '--only-show-errors', `s3://${BUCKET}/${res.outputPrefix}`, down],
      { env: env(), timeout: 240_000 }, (err, _o, stderr) => (err ? rejectP(new Error(`aws s3 cp: ${stderr}`)) : resolveP())));
    expectGoodFilesExact(down);
    expectNoCanary(down);
    await expectLcovParses(down);
    await expectXmlWellFormed(join(down, 'cobertura-coverage.xml'));
    if (chromiumAvailable()) await expectNoLiveMarkup(down);
  }, 600_000);
});

/** What is wrong with one hostile object's report, read from the raw files (a quick check, no Chromium). */
async function problemsIn(dir: string, h: Hostile, skipped: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  if (h.mustSkip && !skipped.has(h.shard)) problems.push('merged, not named in skipped');
  for (const f of filesUnder(dir)) {
    const b = readFileSync(f, 'utf8');
    const rel = relative(dir, f);
    if (b.includes(TOKEN) || b.includes('root:x:0:0')) problems.push(`${rel}: contains a file outside the source root`);
    if (f.endsWith('.html') && /<img src=x onerror|<script>document\.title|<svg onload/.test(b)) problems.push(`${rel}: live markup`);
    if (f.endsWith('lcov.info') && /^SF:\/etc\/passwd/m.test(b)) problems.push(`${rel}: forged SF record`);
  }
  for (const x of ['cobertura-coverage.xml', 'clover.xml']) {
    const r = await new Promise<string>((resolveP) => execFile('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])', join(dir, x)], (err, _o, stderr) => resolveP(err ? stderr.trim().split('\n').pop()! : '')));
    if (r) problems.push(`${x}: ${r}`);
  }
  return problems;
}

describe.skipIf(missingTools.length > 0)('each hostile object alone beside the good shards (in-process combine)', () => {
  it('is refused and named, or merged harmlessly: nothing read from outside, no live markup, well-formed reports', async () => {
    const found: Record<string, string[]> = {};
    for (const h of hostile.filter((x) => x.prefix === PREFIX)) {
      const out = join(work, 'alone', h.name);
      try {
        const r = await combine({
          bucket: BUCKET, prefix: PREFIX, functions: ['orders', `h-${h.name}`], endpointUrl: s3.endpoint, forcePathStyle: true, env: localS3Env(s3.endpoint),
          cwd: work, out, reporters: REPORTERS, sourceRoot: project, threads: 0,
        });
        const problems = await problemsIn(out, h, new Set(r.summary.skipped.map((s) => s.source)));
        if (problems.length > 0) found[h.name] = problems;
      } catch (e) {
        found[h.name] = [`combine threw ${(e as Error).name}: ${(e as Error).message.slice(0, 200)}`];
      }
    }
    expect(found).toEqual({});
  }, 600_000);
});

describe.skipIf(missingTools.length > 0)('a 2 GiB gzip bomb (as a shard and as a maps document) among good shards', () => {
  let run: Run;
  let baselineRss = 0;

  beforeAll(async () => {
    // The same good shards alone: the memory envelope of a normal combine.
    const base = await child([CLI, 'combine', '--bucket', BUCKET, '--prefix', BOMBED, '--function', 'orders', '--endpoint-url', s3.endpoint, '--force-path-style',
      '--source-root', project, '--out', 'baseline', '--json', '--threads', '0', ...REPORTERS.flatMap((r) => ['--reporter', r])]);
    expect(base.code, base.stderr).toBe(0);
    baselineRss = base.maxRssKb;
    run = await cli('bombed', BOMBED);
  }, 600_000);

  it('the bin (1 GiB heap) exits 0, writes the report with the good files exact, and names both bombs', () => {
    expectDocumentedExit(run);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expectGoodFilesExact(join(work, 'bombed'));
    expectHostileNamed(summaryOf(run)!, BOMBED);
  });

  it('keeps peak memory near a normal combine', () => {
    expect(Number.isFinite(run.maxRssKb)).toBe(true);
    expect(run.maxRssKb, `peak RSS ${run.maxRssKb} KB vs ${baselineRss} KB with the good shards alone`).toBeLessThan(baselineRss + 400 * 1024);
  });

  it('the combiner Lambda handler (1 GiB heap) goes on past the bombs', async () => {
    const r = await handlerRun(BOMBED, 'bombed-1');
    expectDocumentedExit(r);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expectHostileNamed(resultOf(r).summary, BOMBED);
    expect(r.maxRssKb, `peak RSS ${r.maxRssKb} KB`).toBeLessThan(baselineRss + 400 * 1024);
  }, 600_000);
});
