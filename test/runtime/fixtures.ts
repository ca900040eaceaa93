/**
 * Hand-instrumented fixtures: small handlers that register counters in `globalThis.__coverage__` in
 * the lean shape (contract 1) and count what they execute, plus the matching build manifest
 * (contract 2). They stand in for a coverageInstrument() build where one is not needed; named
 * "hand-instrumented" wherever used.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FORMAT_VERSION, MANIFEST_FILE, MANIFEST_FORMAT, type BuildManifest, type FileMaps } from '../../contract/format.js';

export const FIXTURE_PATH = 'src/handler.ts';
export const FIXTURE_HASH = 'hand-instrumented-v1';

const loc = (line: number) => ({ start: { line, column: 0 }, end: { line, column: 10 } });

/** Maps for the fixture: 4 statements, 2 functions, 1 if-branch with 2 arms. */
export function fixtureMaps(path = FIXTURE_PATH, hash = FIXTURE_HASH): FileMaps {
  return {
    path, hash,
    statementMap: { 0: loc(1), 1: loc(2), 2: loc(3), 3: loc(4) },
    fnMap: {
      0: { name: 'handler', decl: loc(1), loc: loc(1), line: 1 },
      1: { name: 'unused', decl: loc(5), loc: loc(5), line: 5 },
    },
    branchMap: { 0: { loc: loc(2), type: 'if', locations: [loc(2), loc(3)], line: 2 } },
  };
}

export function fixtureManifest(files: FileMaps[] = [fixtureMaps()]): BuildManifest {
  return {
    format: MANIFEST_FORMAT, version: FORMAT_VERSION, createdAt: new Date().toISOString(),
    generator: 'hand-instrumented fixture', files: Object.fromEntries(files.map((f) => [f.path, f])),
  };
}

/** Counting code shared by every shape: `count(event)` runs the "instrumented" body. */
const PRELUDE = `
const __cov = (globalThis.__coverage__ ??= {});
const __fc = (__cov[${JSON.stringify(FIXTURE_PATH)}] ??= { path: ${JSON.stringify(FIXTURE_PATH)}, hash: ${JSON.stringify(FIXTURE_HASH)}, s: { 0: 0, 1: 0, 2: 0, 3: 0 }, f: { 0: 0, 1: 0 }, b: { 0: [0, 0] } });
function count(event) {
  __fc.f[0]++; __fc.s[0]++;
  if (event && event.fail) { __fc.b[0][0]++; __fc.s[1]++; const e = new Error('boom: ' + event.fail); e.name = 'FixtureError'; e.extra = 42; throw e; }
  __fc.b[0][1]++; __fc.s[2]++;
  return { ok: true, n: event && event.n, id: 'fixture' };
}
`;

export type Shape =
  | 'cjs-async' | 'cjs-callback' | 'cjs-callback-nowait' | 'extensionless' | 'esm-mjs' | 'esm-type-module'
  | 'cjs-ext' | 'nested' | 'streaming' | 'uninstrumented' | 'cjs-no-callback' | 'sdk-probe' | 'cjs-awaits';

export interface Fixture { handler: string; file: string }

/** Writes one handler shape into taskRoot; returns its handler string. */
export function writeFixture(taskRoot: string, shape: Shape, withManifest = true): Fixture {
  const put = (rel: string, text: string) => {
    const p = join(taskRoot, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };
  let fx: Fixture;
  let manifestDir = taskRoot;
  switch (shape) {
    case 'cjs-async':
      fx = { handler: 'index.handler', file: put('index.js', `${PRELUDE}\nexports.handler = async (event, context) => count(event);\n`) };
      break;
    case 'sdk-probe':
      // Says whether the AWS SDK's S3 client is loaded in this process (the function never loads it).
      fx = { handler: 'index.handler', file: put('index.js', `${PRELUDE}
exports.handler = async (event) => ({ ...count(event), sdkLoaded: Object.keys(require.cache).some((k) => k.includes('@aws-sdk/client-s3')) });
`) };
      break;
    case 'cjs-awaits':
      // Waits event.waitMs (a downstream call, say) before counting; says when it returned (Date.now()).
      fx = { handler: 'index.handler', file: put('index.js', `${PRELUDE}
exports.handler = async (event) => {
  await new Promise((ok) => setTimeout(ok, (event && event.waitMs) || 0));
  return { ...count(event), returnedAt: Date.now() };
};
`) };
      break;
    case 'uninstrumented':
      fx = { handler: 'index.handler', file: put('index.js', `exports.handler = async (event) => ({ ok: true, n: event && event.n });\n`) };
      return fx;
    case 'cjs-callback':
      // Callback handler; a timer left pending shows callbackWaitsForEmptyEventLoop=true still waits.
      fx = { handler: 'index.handler', file: put('index.js', `${PRELUDE}
exports.handler = function (event, context, callback) {
  globalThis.__timerDone = false;
  setTimeout(() => { globalThis.__timerDone = true; }, 50);
  let r; try { r = count(event); } catch (e) { return callback(e); }
  setTimeout(() => callback(null, { ...r, waits: context.callbackWaitsForEmptyEventLoop }), 5);
};
exports.timerDone = async () => globalThis.__timerDone;
`) };
      break;
    case 'cjs-callback-nowait':
      fx = { handler: 'index.handler', file: put('index.js', `${PRELUDE}
exports.handler = function (event, context, callback) {
  context.callbackWaitsForEmptyEventLoop = false;
  // Would hold the response past the function's timeout if the runtime waited for the event loop.
  clearTimeout(globalThis.__pending);
  globalThis.__pending = setTimeout(() => {}, 600000);
  callback(null, count(event));
};
`) };
      break;
    case 'cjs-no-callback':
      // Legacy style: returns nothing and never calls back; the runtime answers null when the loop empties.
      fx = { handler: 'index.handler', file: put('index.js', `${PRELUDE}\nexports.handler = function (event, context, callback) { count(event); };\n`) };
      break;
    case 'extensionless':
      fx = { handler: 'app.handler', file: put('app', `${PRELUDE}\nmodule.exports.handler = async (event) => count(event);\n`) };
      break;
    case 'esm-mjs':
      fx = { handler: 'index.handler', file: put('index.mjs', `${PRELUDE}\nexport const handler = async (event) => count(event);\n`) };
      break;
    case 'esm-type-module':
      put('package.json', JSON.stringify({ type: 'module' }));
      fx = { handler: 'index.handler', file: put('index.js', `${PRELUDE}\nexport async function handler(event) { return count(event); }\n`) };
      break;
    case 'cjs-ext':
      fx = { handler: 'main.handler', file: put('main.cjs', `${PRELUDE}\nexports.handler = async (event) => count(event);\n`) };
      break;
    case 'nested':
      manifestDir = join(taskRoot, 'dir', 'sub');
      fx = { handler: 'dir/sub/file.api.v1.run', file: put('dir/sub/file.js', `${PRELUDE}\nexports.api = { v1: { run: async (event) => count(event) } };\n`) };
      break;
    case 'streaming':
      fx = { handler: 'index.handler', file: put('index.mjs', `${PRELUDE}
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const r = count(event);
  responseStream.write('part1;');
  await new Promise((ok) => setTimeout(ok, 5));
  responseStream.write(JSON.stringify(r));
  responseStream.end();
}, { highWaterMark: 1024 });
`) };
      break;
  }
  if (withManifest) writeFileSync(join(manifestDir, MANIFEST_FILE), JSON.stringify(fixtureManifest()));
  return fx;
}

/**
 * Expected counters after `ok` successful and `failed` failing invocations of the fixture, as a shard
 * with a maps document carries them (version 2: the file's hash, FIXTURE_HASH, is in the maps).
 */
export function expectedCounters(ok: number, failed: number) {
  const n = ok + failed;
  return { s: [n, failed, ok, 0], f: [n, 0], b: [[failed, ok]] };
}

/** A synthetic bundle of `files` hand-instrumented modules (lean), for scale tests and the bench. */
export function writeManyFiles(taskRoot: string, files: number, statements = 40): { handler: string; paths: string[] } {
  const maps: FileMaps[] = [];
  const paths: string[] = [];
  for (let i = 0; i < files; i++) {
    const path = `src/mod${String(i).padStart(4, '0')}.ts`;
    paths.push(path);
    const sm: Record<string, ReturnType<typeof loc>> = {};
    for (let k = 0; k < statements; k++) sm[k] = loc(k + 1);
    maps.push({
      path, hash: `h${i}`, statementMap: sm,
      fnMap: { 0: { name: 'f', decl: loc(1), loc: loc(1), line: 1 }, 1: { name: 'g', decl: loc(2), loc: loc(2), line: 2 } },
      branchMap: { 0: { loc: loc(3), type: 'if', locations: [loc(3), loc(4)], line: 3 }, 1: { loc: loc(5), type: 'binary-expr', locations: [loc(5), loc(6), loc(7)], line: 5 } },
    });
  }
  const src = `
const cov = (globalThis.__coverage__ ??= {});
const files = [];
for (let i = 0; i < ${files}; i++) {
  const path = 'src/mod' + String(i).padStart(4, '0') + '.ts';
  const s = {}; for (let k = 0; k < ${statements}; k++) s[k] = 0;
  files.push(cov[path] ??= { path, hash: 'h' + i, s, f: { 0: 0, 1: 0 }, b: { 0: [0, 0], 1: [0, 0, 0] } });
}
exports.handler = async (event) => {
  const touch = (event && event.touch) || 10;
  for (let i = 0; i < touch; i++) { const fc = files[(i * 7) % files.length]; fc.s[i % ${statements}]++; fc.f[0]++; fc.b[0][i % 2]++; }
  return { ok: true };
};
`;
  writeFileSync(join(taskRoot, 'index.js'), src);
  writeFileSync(join(taskRoot, MANIFEST_FILE), JSON.stringify(fixtureManifest(maps)));
  return { handler: 'index.handler', paths };
}
