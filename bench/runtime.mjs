// Runtime (layer) benchmark. A synthetic function of 320 TypeScript modules built three ways with
// esbuild: plain, and with the real coverageInstrument() plugin (lean; full Istanbul objects for the
// size comparison). Side by side in one run, through the local Lambda harness (aws-lambda-ric on
// Node 22) and a real S3-API server on 127.0.0.1 (in its own process):
//   warm invocation latency p50/p99: plain | instrumented, no layer | layer inline | layer deferred,
//     the layer on both upload paths (light: aws4-signed node:http; sdk: @aws-sdk/client-s3)
//   a container's first inline flush over a warm one, both paths, fresh containers in paired rounds,
//     for a handler that only computes and for one whose first invocation waits 25 ms (a downstream call)
//   the signers alone: first PUT, warm PUT, added RSS of the SDK, @smithy/signature-v4 and aws4
//   CPU to snapshot + encode the counters, shard size vs JSON.stringify(__coverage__)
//   init (cold start) and memory (RSS of the runtime process; the extension's own RSS apart)
// Run after `npm run build` (uses dist/). Prints medians and ratios against the targets of issues 3
// and 11; returns nothing. `node bench/runtime.mjs [--quick]` runs it alone.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import { coverageInstrument } from '../dist/plugin/index.js';
import { buildLayer } from '../dist/runtime/layer-build.js';
import { takeSnapshot } from '../dist/runtime/snapshot.js';
import { ShardWriter } from '../dist/runtime/shard-bytes.js';
import { encodeShard } from '../dist/runtime/collector.js';
import { nodeBinary, ricAvailable, startContainer } from '../scripts/local/lambda.mjs';
import { selfSignedCert } from '../scripts/local/tls.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODULES = 320;
const BUCKET = 'bench-coverage';
/** How long the awaiting handler's first invocation waits (src/handler-wait.ts). */
const FIRST_WAIT_MS = 25;

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const pct = (xs, p) => { const s = sorted(xs); return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const median = (xs) => pct(xs, 50);
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
const verdict = (ok) => (ok ? 'meets' : 'MISSES');

export function writeProject(dir) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  const imports = [];
  const calls = [];
  for (let i = 0; i < MODULES; i++) {
    const name = `m${String(i).padStart(3, '0')}`;
    writeFileSync(join(dir, 'src', `${name}.ts`), `export interface Opts${i} { scale?: number; label?: string }
export function f${i}(x: number, o: Opts${i} = {}): number {
  let acc = 0;
  for (let k = 0; k < 3; k++) acc += k * x * (o.scale ?? 1);
  if (x > ${i % 7}) { acc += 1; } else { acc -= 1; }
  const parity = x % 2 === 0 ? 'even' : 'odd';
  switch (parity) {
    case 'even': acc *= 2; break;
    default: acc += 3;
  }
  return o.label !== undefined && o.label.length > 0 ? acc + o.label.length : acc;
}
export function g${i}(a?: string): string { return a ?? 'none-${i}'; }
export class C${i} {
  private seen = 0;
  m(v: number): number { this.seen++; return v > 0 && v < 100 ? v : -v; }
  get count(): number { return this.seen; }
}
`);
    imports.push(`import { f${i}, g${i}, C${i} } from './${name}';`);
    calls.push(`(x: number) => f${i}(x) + g${i}(x % 3 === 0 ? undefined : 'v').length + new C${i}().m(x)`);
  }
  // The same function calling S3 once through the runtime's SDK (required, so NODE_PATH finds it).
  writeFileSync(join(dir, 'src', 'handler-sdk.ts'), `import { createRequire } from 'node:module';
import { handler as inner } from './handler';
const { S3Client, HeadBucketCommand } = createRequire(import.meta.url)('@aws-sdk/client-s3');
const client = new S3Client({ endpoint: process.env.COVERAGE_S3_ENDPOINT, forcePathStyle: true });
let first = true;
export const handler = async (event: { i?: number }) => {
  if (first) { first = false; await client.send(new HeadBucketCommand({ Bucket: process.env.COVERAGE_S3_BUCKET })); }
  // BENCH_GARBAGE_KB: the garbage a real handler makes per invocation (here a JSON response of rows).
  const kb = Number(process.env.BENCH_GARBAGE_KB ?? 0);
  if (kb > 0) (globalThis as { sink?: number }).sink = JSON.stringify(Array.from({ length: kb * 10 }, (_, k) => ({ id: k, name: 'item-' + k }))).length;
  return inner(event);
};
`);
  // The same function whose first invocation waits 25 ms (a timer standing in for a first downstream
  // call): in inline mode the layer starts its first flush's HEAD while the handler waits.
  writeFileSync(join(dir, 'src', 'handler-wait.ts'), `import { handler as inner } from './handler';
let first = true;
export const handler = async (event: { i?: number }) => {
  if (first) { first = false; await new Promise((ok) => setTimeout(ok, ${FIRST_WAIT_MS})); }
  return inner(event);
};
`);
  writeFileSync(join(dir, 'src', 'handler.ts'), `${imports.join('\n')}
const all = [${calls.join(',\n  ')}];
export const handler = async (event: { i?: number }) => {
  const i = event.i ?? 0;
  let sum = 0;
  // Each invocation runs 16 of the modules, different ones each time: the counters always change.
  for (let k = 0; k < 16; k++) sum += all[(i * 17 + k * 19) % all.length]!(i + k);
  return { sum };
};
`);
}

export async function buildVariant(projectDir, outDir, plugin, entry = 'src/handler.ts') {
  await esbuild.build({
    absWorkingDir: projectDir, entryPoints: [entry], bundle: true, platform: 'node', target: 'node22',
    format: 'esm', outfile: join(outDir, 'index.mjs'), logLevel: 'error', plugins: plugin ? [plugin] : [],
  });
  return outDir;
}

/**
 * The S3 server in its own process, so its work does not share the harness's event loop. With `tls`
 * (key and certificate files) the same process also answers over TLS on another port and forwards to
 * the server (`tlsEndpoint`): the first flush as against S3 itself, whose endpoints are https.
 */
async function startS3Process(tls) {
  const script = `import { startLocalS3 } from ${JSON.stringify(pathToFileURL(join(ROOT, 'scripts/local/s3.mjs')).href)};
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
const s = await startLocalS3({ buckets: [${JSON.stringify(BUCKET)}] });
let tlsEndpoint = '';
const tls = ${JSON.stringify(tls ?? null)};
if (tls) {
  const u = new URL(s.endpoint);
  const server = https.createServer({ key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) }, (req, res) => {
    const up = http.request({ host: u.hostname, port: u.port, method: req.method, path: req.url, headers: req.headers }, (ur) => { res.writeHead(ur.statusCode, ur.headers); ur.pipe(res); });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  tlsEndpoint = 'https://127.0.0.1:' + server.address().port;
}
process.stdout.write(s.endpoint + ' ' + tlsEndpoint + '\\n');
process.stdin.on('end', async () => { await s.stop(); process.exit(0); });
process.stdin.resume();`;
  const child = spawn(nodeBinary(), ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const [endpoint, tlsEndpoint] = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => { buf += c; if (buf.includes('\n')) resolve(buf.trim().split(' ')); });
    child.on('exit', (code) => reject(new Error(`S3 server exited (${code})`)));
  });
  return { endpoint, tlsEndpoint: tlsEndpoint || undefined, stop: () => new Promise((r) => { child.on('exit', r); child.stdin.end(); setTimeout(() => child.kill('SIGKILL'), 3000).unref(); }) };
}


function s3Env(endpoint) {
  return {
    AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1',
    COVERAGE_S3_ENDPOINT: endpoint, COVERAGE_S3_FORCE_PATH_STYLE: '1', COVERAGE_S3_BUCKET: BUCKET,
  };
}

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch { return NaN; }
}

/** RSS the runtime's SDK adds by itself: what any S3 upload through it costs. */
async function sdkMemoryMb(endpoint) {
  const script = `const r0 = process.memoryUsage().rss;
const sdk = require('@aws-sdk/client-s3');
const c = new sdk.S3Client({ region: 'us-east-1', endpoint: ${JSON.stringify(endpoint)}, forcePathStyle: true, maxAttempts: 1,
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
c.send(new sdk.PutObjectCommand({ Bucket: ${JSON.stringify(BUCKET)}, Key: 'bench/sdk-probe', Body: Buffer.from('x') }))
  .then(() => process.stdout.write(String((process.memoryUsage().rss - r0) / 1048576)));`;
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { stdout } = await promisify(execFile)(nodeBinary(), ['-e', script], { cwd: ROOT });
  return Number(stdout);
}

/**
 * The signers alone, each in a fresh plain Node process (as a container's first flush meets them):
 * load + first PUT of a 6 KB body to the local S3 server, then the p50 of 100 warm PUTs, and the RSS
 * the process grew by. The SDK client, @smithy/signature-v4 with the SDK's own node:crypto hash (both
 * taken from the runtime's SDK, which costs nothing to ship) and aws4 (what the light path ships).
 */
const SIGNER_PROBE = `import { createRequire } from 'node:module';
import http from 'node:http';
const [client, endpoint, bucket] = process.argv.slice(1);
const req = createRequire(process.cwd() + '/noop.js');
const body = Buffer.alloc(6000, 7);
const creds = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const u = new URL(endpoint);
const agent = new http.Agent({ keepAlive: true });
const send = (path, headers) => new Promise((ok, bad) => {
  const r = http.request({ host: u.hostname, port: u.port, method: 'PUT', path, headers, agent }, (res) => { res.resume(); res.on('end', () => (res.statusCode < 300 ? ok() : bad(new Error(String(res.statusCode))))); });
  r.on('error', bad); r.end(body);
});
const headers = { 'content-type': 'application/json', 'x-amz-server-side-encryption': 'AES256' };
const r0 = process.memoryUsage().rss;
const t0 = performance.now();
let put;
if (client === 'sdk') {
  const sdk = req('@aws-sdk/client-s3');
  const c = new sdk.S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', credentials: creds });
  put = (k) => c.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: k, Body: body, ContentType: 'application/json', ServerSideEncryption: 'AES256' }));
} else if (client === 'smithy') {
  const own = createRequire(req.resolve('@aws-sdk/client-s3'));
  const { SignatureV4 } = own('@smithy/signature-v4');
  const { Hash } = own('@smithy/core/serde');
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 's3', sha256: Hash.bind(null, 'sha256'), uriEscapePath: false, applyChecksum: true });
  put = async (k) => { const s = await signer.sign({ method: 'PUT', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/' + bucket + '/' + k, query: {}, headers: { ...headers, host: u.host }, body }); return send(s.path, s.headers); };
} else {
  const aws4 = req('aws4');
  put = (k) => { const s = aws4.sign({ service: 's3', region: 'us-east-1', method: 'PUT', host: u.hostname, path: '/' + bucket + '/' + k, headers: { ...headers, Host: u.host }, body }, creds); return send(s.path, s.headers); };
}
await put('bench/signer-first');
const first = performance.now() - t0;
const warm = [];
for (let i = 0; i < 100; i++) { const t = performance.now(); await put('bench/signer-' + (i % 5)); warm.push(performance.now() - t); }
warm.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ first, warm: warm[50], rss: (process.memoryUsage().rss - r0) / 1048576 }));
process.exit(0);`;

async function signerProbe(endpoint, reps) {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const rows = { sdk: [], smithy: [], aws4: [] };
  // Interleaved, so that the machine's drift falls on all three alike.
  for (let i = 0; i < reps; i++) {
    for (const client of Object.keys(rows)) {
      const { stdout } = await promisify(execFile)(nodeBinary(), ['--input-type=module', '-e', SIGNER_PROBE, client, endpoint, BUCKET], { cwd: ROOT });
      rows[client].push(JSON.parse(stdout));
    }
  }
  return Object.entries(rows).map(([client, xs]) => ({ client, first: median(xs.map((x) => x.first)), warm: median(xs.map((x) => x.warm)), rss: median(xs.map((x) => x.rss)) }));
}

/**
 * A container's first inline flush over its warm ones: fresh containers, one per variant per round
 * (order turned each round), each timed on its first invocation and on the p50 of a few warm ones.
 * The layer's added first-flush cost is the median over rounds of (first - warm) with the layer minus
 * the same without it, which takes out what any first invocation costs (the function's own JIT).
 * Exported so that a probe can pair two layers (`opt`) in the same rounds.
 */
export async function firstFlushMs(variants, rounds, warmN) {
  for (const v of variants) { v.extra = []; v.init = []; }
  for (let k = 0; k < rounds; k++) {
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(j + k) % variants.length];
      const c = await startContainer({ taskRoot: v.taskRoot, optDir: v.opt, handler: 'index.handler', env: v.env, functionName: 'bench-layer' });
      try {
        await c.initDone;
        const first = await c.invoke({ i: 0 });
        if (!first.ok) throw new Error(`${v.name}: ${first.body}`);
        const warm = [];
        for (let i = 1; i <= warmN; i++) warm.push((await c.invoke({ i })).latencyMs);
        v.extra.push(first.latencyMs - median(warm));
        v.init.push(c.initMs);
      } finally {
        await c.shutdown();
      }
    }
  }
  const base = variants[0];
  return variants.slice(1).map((v) => ({
    name: v.name, added: median(v.extra.map((x, k) => x - base.extra[k])), init: median(v.init.map((x, k) => x - base.init[k])),
  }));
}

/**
 * What starting the layer's extension costs by itself: spawn to its register request, against an
 * extension that only registers (bash, as ours: the floor of a script extension) and against spawning
 * a process that does nothing (/bin/true, to its exit): the floor of any external extension. Medians.
 */
async function extensionStartMs(opt, work, reps) {
  const minimal = join(work, 'register-only');
  writeFileSync(minimal, `#!/bin/bash
api="$AWS_LAMBDA_RUNTIME_API"
exec 3<>"/dev/tcp/\${api%:*}/\${api##*:}"
printf 'POST /2020-01-01/extension/register HTTP/1.1\\r\\nHost: %s\\r\\nLambda-Extension-Name: register-only\\r\\nContent-Length: 23\\r\\n\\r\\n{"events":["SHUTDOWN"]}' "$api" >&3
while read -r -t 60 _ <&3; do :; done
`, { mode: 0o755 });
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url.endsWith('/register')) { server.emit('registered'); res.writeHead(200, { 'Lambda-Extension-Identifier': 'bench' }); res.end('{}'); }
    // event/next is left open: the process is killed.
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const env = { ...process.env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}`, COVERAGE_ENABLED: '1' };
  const once = async (cmd, register) => {
    const t0 = performance.now();
    const child = spawn(cmd, [], { env, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await (register ? new Promise((r) => server.once('registered', r)) : exited);
    const ms = performance.now() - t0;
    child.kill('SIGKILL');
    await exited;
    return ms;
  };
  const ext = [];
  const min = [];
  const floor = [];
  try {
    for (let i = 0; i < reps; i++) {
      ext.push(await once(join(opt, 'extensions', 'lambda-coverage'), true));
      min.push(await once(minimal, true));
      floor.push(await once('/bin/true', false));
    }
  } finally {
    server.closeAllConnections?.();
    server.close();
  }
  return { ext: median(ext), min: median(min), floor: median(floor) };
}

export async function run({ quick = false } = {}) {
  const ric = ricAvailable();
  if (!ric.ok) {
    console.log(`runtime bench skipped: ${ric.reason}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'lc-bench-runtime-'));
  // Without openssl the TLS rows are skipped.
  const tls = selfSignedCert(work);
  const s3 = await startS3Process(tls);
  const containers = [];
  try {
    const project = join(work, 'project');
    writeProject(project);
    const plain = await buildVariant(project, join(work, 'plain'), null);
    const lean = await buildVariant(project, join(work, 'lean'), coverageInstrument({ enabled: true, cwd: project, cache: false, summary: false }));
    const full = await buildVariant(project, join(work, 'full'), coverageInstrument({ enabled: true, cwd: project, cache: false, summary: false, lean: false }));
    const sdkFn = await buildVariant(project, join(work, 'sdk'), coverageInstrument({ enabled: true, cwd: project, cache: false, summary: false }), 'src/handler-sdk.ts');
    const waitFn = await buildVariant(project, join(work, 'wait'), coverageInstrument({ enabled: true, cwd: project, cache: false, summary: false }), 'src/handler-wait.ts');
    const opt = join(work, 'opt');
    mkdirSync(opt);
    const layerZip = join(work, 'layer.zip');
    const layer = buildLayer({ out: layerZip, print: () => undefined });
    execFileSync('unzip', ['-q', layerZip, '-d', opt]);
    console.log(`function: ${MODULES + 1} TypeScript modules (${MODULES} instrumented + handler); layer zip ${kb(layer.bytes)}; Node ${process.version}; aws-lambda-ric + local S3 on 127.0.0.1`);

    // --- warm latency -------------------------------------------------------------------------
    const layerEnv = (extra) => ({ ...s3Env(s3.endpoint), COVERAGE_ENABLED: '1', AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage`, ...extra });
    const variants = [
      { name: 'plain (no coverage)', taskRoot: plain, env: {} },
      { name: 'instrumented, no layer', taskRoot: lean, env: {} },
      { name: 'layer, inline, light', taskRoot: lean, opt, env: layerEnv({}) },
      { name: 'layer, inline, sdk', taskRoot: lean, opt, env: layerEnv({ COVERAGE_UPLOAD_PATH: 'sdk' }) },
      { name: 'layer, deferred, light', taskRoot: lean, opt, env: layerEnv({ COVERAGE_FLUSH: 'deferred' }) },
      { name: 'layer, deferred, sdk', taskRoot: lean, opt, env: layerEnv({ COVERAGE_FLUSH: 'deferred', COVERAGE_UPLOAD_PATH: 'sdk' }) },
      // Per-test coverage: untagged invocations with it off (COVERAGE_MAX_TESTS=0: version 2 shards, no
      // init copy), and every invocation tagged with one of 200 tests (shards carry 200 tests' records).
      { name: 'inline light, per-test off', taskRoot: lean, opt, env: layerEnv({ COVERAGE_MAX_TESTS: '0' }) },
      { name: 'inline light, 200 tests', taskRoot: lean, opt, env: layerEnv({}), tagged: 200 },
    ];
    const [, noLayer, inlineLight, inlineSdk, deferredLight, deferredSdk, perTestOff, tagged] = variants;
    const eventOf = (v, i) => (v.tagged ? { i, headers: { 'x-lambda-coverage-test': `suite/test-${i % v.tagged}` } } : { i });
    for (const v of variants) {
      // The two layer containers are two containers of one function: the first writes the maps (it
      // reads the build manifest once), the second finds them in S3 (HEAD) and never reads it.
      v.c = await startContainer({ taskRoot: v.taskRoot, optDir: v.opt, handler: 'index.handler', env: v.env, functionName: v.opt ? 'bench-layer' : `bench-${variants.indexOf(v)}` });
      containers.push(v.c);
      await v.c.initDone;
      v.lat = [];
      const t0 = Date.now();
      const r0 = await v.c.invoke(eventOf(v, 0));
      if (!r0.ok) throw new Error(`${v.name}: ${r0.body}`);
      v.first = r0.latencyMs;
      // Until the invoke phase ends: in deferred mode the SDK load and first upload happen here, after the response.
      v.firstPhase = (await r0.phaseEnd) - t0;
      // Every test has run once before the measured rounds: each shard then carries all of them.
      for (let i = 1; i < (v.tagged ?? 0); i++) await (await v.c.invoke(eventOf(v, i))).phaseEnd;
    }
    const warmup = 5;
    const rounds = quick ? 60 : 400;
    for (let i = 1; i <= warmup + rounds; i++) {
      for (const v of variants) {
        const r = await v.c.invoke(eventOf(v, i));
        if (!r.ok) throw new Error(`${v.name}: ${r.body}`);
        if (i > warmup) v.lat.push(r.latencyMs);
        await r.phaseEnd;
      }
    }
    const base = median(variants[0].lat);
    const base99 = pct(variants[0].lat, 99);
    console.log(`\nwarm invocation, client latency (${rounds} invocations each, interleaved; first = the container's first invocation, with the first flush):`);
    console.log('variant                  |   p50 ms |   p99 ms | added p50 | added p99 | first ms | first phase ms');
    for (const v of variants) {
      const p50 = median(v.lat);
      const p99 = pct(v.lat, 99);
      console.log(`${v.name.padEnd(24)} | ${f2(p50).padStart(8)} | ${f2(p99).padStart(8)} | ${f2(p50 - base).padStart(9)} | ${f2(p99 - base99).padStart(9)} | ${f1(v.first).padStart(8)} | ${f1(v.firstPhase).padStart(14)}`);
    }
    const added = (v) => median(v.lat) - base;
    for (const [l, k, target] of [[inlineLight, inlineSdk, 15], [deferredLight, deferredSdk, 2]]) {
      console.log(`target: ${l.name.replace(', light', '')} added p50 <= ${target} ms: light ${f2(added(l))} ms (${verdict(added(l) <= target)}), sdk ${f2(added(k))} ms (${verdict(added(k) <= target)}); light no worse than sdk: ${verdict(median(l.lat) <= median(k.lat) + 0.1)} (p50 ${f2(median(l.lat))} vs ${f2(median(k.lat))} ms)`);
    }
    const perTestHealth = (await tagged.c.invoke({ lambdaCoverage: 'health' })).payload;
    const plainHealth = (await perTestOff.c.invoke({ lambdaCoverage: 'health' })).payload;
    console.log(`per-test coverage: a tagged invocation (one of ${tagged.tagged} tests) over an untagged one: +${f2(median(tagged.lat) - median(inlineLight.lat))} ms p50 (target <= 1 ms: ${verdict(median(tagged.lat) - median(inlineLight.lat) <= 1)}); untagged with per-test on vs off: ${f2(median(inlineLight.lat) - median(perTestOff.lat))} ms p50; shard with ${perTestHealth.per_test.tests} tests ${kb(perTestHealth.last_upload.bytes)} vs ${kb(plainHealth.last_upload.bytes)} without per-test data (${(perTestHealth.last_upload.bytes / plainHealth.last_upload.bytes).toFixed(1)}x)`);
    console.log(`first response, added over the instrumented bundle's (one container each; see the paired rounds below): inline light +${f1(inlineLight.first - noLayer.first)} ms, inline sdk +${f1(inlineSdk.first - noLayer.first)} ms; deferred light response +${f1(deferredLight.first - noLayer.first)} ms / invoke phase +${f1(deferredLight.firstPhase - noLayer.firstPhase)} ms, deferred sdk +${f1(deferredSdk.first - noLayer.first)} / +${f1(deferredSdk.firstPhase - noLayer.firstPhase)} ms`);
    console.log('anchor: the coverage.py layer this design grew from: +300-800 ms per invocation');

    // --- memory ----------------------------------------------------------------------------------
    console.log('\nmemory after the warm runs (RSS of the runtime process):');
    for (const v of variants) {
      const rt = v.c.pids.find((p) => p.name === 'runtime');
      const ext = v.c.pids.find((p) => p.name.startsWith('extension'));
      v.rss = rssMb(rt.pid);
      console.log(`${v.name.padEnd(24)} | runtime ${f1(v.rss).padStart(6)} MB${ext ? ` | extension process ${f1(rssMb(ext.pid))} MB` : ''}`);
    }
    console.log(`(inline light was the function's first container: it read the manifest and wrote the maps; the others found them in S3)`);
    for (const [l, k] of [[inlineLight, inlineSdk], [deferredLight, deferredSdk]]) {
      const ml = l.rss - noLayer.rss;
      const mk = k.rss - noLayer.rss;
      console.log(`target: added memory of ${l.name.replace(', light', '')} vs instrumented, no layer <= 10 MB: light ${f1(ml)} MB (${verdict(ml <= 10)}), sdk ${f1(mk)} MB (${verdict(mk <= 10)}); sdk - light ${f1(mk - ml)} MB`);
    }
    console.log('(the extension is a separate bash process, above)');
    const sdkAlone = await sdkMemoryMb(s3.endpoint);
    console.log(`the AWS SDK alone (require @aws-sdk/client-s3 + one PUT, in a plain Node process): +${f1(sdkAlone)} MB RSS`);
    await Promise.all(containers.splice(0).map((c) => c.shutdown()));
    // Most functions call AWS through the runtime's SDK already (esbuild setups keep @aws-sdk/* external,
    // as CDK's NodejsFunction does): the layer then loads no SDK of its own. Same bundle plus one S3 call.
    // The synthetic handler makes almost no garbage, so its young generation (grown to 16 MB once any
    // SDK loads) stays mostly untouched; the layer's per-invocation work touches those pages. A handler
    // that makes ~100 KB of garbage per invocation (a 1,000-row JSON response) touches them itself.
    const sdkVariants = [
      { name: 'fn uses SDK, no layer', env: s3Env(s3.endpoint) },
      { name: 'fn uses SDK + layer light', opt, env: inlineLight.env },
      { name: 'fn uses SDK + layer sdk', opt, env: inlineSdk.env },
      { name: 'same + 100 KB garbage/inv', env: { ...s3Env(s3.endpoint), BENCH_GARBAGE_KB: '100' } },
      { name: 'same + 100 KB + layer light', opt, env: { ...inlineLight.env, BENCH_GARBAGE_KB: '100' } },
      { name: 'same + 100 KB + layer sdk', opt, env: { ...inlineSdk.env, BENCH_GARBAGE_KB: '100' } },
    ];
    for (const v of sdkVariants) {
      const c = await startContainer({ taskRoot: sdkFn, optDir: v.opt, handler: 'index.handler', env: v.env, functionName: 'bench-layer' });
      containers.push(c);
      await c.initDone;
      for (let i = 0; i < (quick ? 60 : 200); i++) {
        const r = await c.invoke({ i });
        if (!r.ok) throw new Error(`${v.name}: ${r.body}`);
        await r.phaseEnd;
      }
      v.rss = rssMb(c.pids.find((p) => p.name === 'runtime').pid);
      console.log(`${v.name.padEnd(27)} | runtime ${f1(v.rss).padStart(6)} MB`);
    }
    const [fnSdk, fnLight, fnLayerSdk, gSdk, gLight, gLayerSdk] = sdkVariants.map((v) => v.rss);
    console.log(`added memory when the function itself uses the runtime's SDK: light ${f1(fnLight - fnSdk)} MB (${verdict(fnLight - fnSdk <= 10)}), sdk ${f1(fnLayerSdk - fnSdk)} MB (${verdict(fnLayerSdk - fnSdk <= 10)}); and makes 100 KB of garbage per invocation: light ${f1(gLight - gSdk)} MB (${verdict(gLight - gSdk <= 10)}), sdk ${f1(gLayerSdk - gSdk)} MB (${verdict(gLayerSdk - gSdk <= 10)})`);
    console.log('anchor: the coverage.py layer: +30-70 MB');
    await Promise.all(containers.splice(0).map((c) => c.shutdown()));

    // --- first flush --------------------------------------------------------------------------------
    const firstRounds = quick ? 3 : 9;
    const firsts = await firstFlushMs([
      { name: 'instrumented, no layer', taskRoot: lean, env: {} },
      { name: 'layer, inline, light', taskRoot: lean, opt, env: inlineLight.env },
      { name: 'layer, inline, sdk', taskRoot: lean, opt, env: inlineSdk.env },
      // Lambda initializes these environments before a request needs them: the layer prepares the first flush during init.
      { name: 'layer, inline, light, initialized ahead', taskRoot: lean, opt, env: { ...inlineLight.env, AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' } },
      { name: 'layer, inline, sdk, initialized ahead', taskRoot: lean, opt, env: { ...inlineSdk.env, AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' } },
    ], firstRounds, 10);
    const [fl, fs] = firsts.map((x) => x.added);
    console.log(`\na container's first inline flush over a warm flush (fresh containers, ${firstRounds} paired rounds, the function's maps already in S3): light +${f1(fl)} ms, sdk +${f1(fs)} ms (sdk / light ${(fs / fl).toFixed(1)}x)`);
    console.log(`target: first inline flush adds <= 20 ms over a warm flush: light ${verdict(fl <= 20)}, sdk ${verdict(fs <= 20)}`);
    // The bundle with the awaiting handler has its own maps: one container writes them first.
    const waitEnv = (env) => ({ taskRoot: waitFn, opt, env });
    const writer = await startContainer({ taskRoot: waitFn, optDir: opt, handler: 'index.handler', env: inlineLight.env, functionName: 'bench-layer' });
    try { await writer.initDone; await (await writer.invoke({ i: 0 })).phaseEnd; } finally { await writer.shutdown(); }
    const waits = await firstFlushMs([
      { name: 'awaiting, no layer', taskRoot: waitFn, env: {} },
      { name: 'awaiting, layer, inline, light', ...waitEnv(inlineLight.env) },
      { name: 'awaiting, layer, inline, sdk', ...waitEnv(inlineSdk.env) },
    ], firstRounds, 10);
    const [wl, ws] = waits.map((x) => x.added);
    console.log(`\nfirst inline flush by handler (same rounds design; "awaiting": the first invocation waits ${FIRST_WAIT_MS} ms on a timer standing in for a first downstream call, which the layer's first flush overlaps):`);
    console.log(`${'handler'.padEnd(32)} | light ms | sdk ms | sdk / light | target <= 20 ms`);
    for (const [label, l, k] of [['CPU only', fl, fs], [`awaiting ${FIRST_WAIT_MS} ms on its first call`, wl, ws]]) {
      console.log(`${label.padEnd(32)} | ${`+${f1(l)}`.padStart(8)} | ${`+${f1(k)}`.padStart(6)} | ${`${(k / l).toFixed(1)}x`.padStart(11)} | light ${verdict(l <= 20)}, sdk ${verdict(k <= 20)}`);
    }
    console.log(`\nprovisioned concurrency / Managed Instances (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency: init runs before any request; the layer prepares the first flush during it), same rounds:`);
    console.log(`${'path'.padEnd(8)} | first flush over warm: on-demand | initialized ahead | init added: on-demand | initialized ahead | target <= 20 ms (initialized ahead)`);
    for (const [label, od, ia] of [['light', firsts[0], firsts[2]], ['sdk', firsts[1], firsts[3]]]) {
      console.log(`${label.padEnd(8)} | ${`+${f1(od.added)}`.padStart(32)} | ${`+${f1(ia.added)}`.padStart(17)} | ${`+${f1(od.init)}`.padStart(20)} | ${`+${f1(ia.init)}`.padStart(17)} | ${verdict(ia.added <= 20)}`);
    }
    if (s3.tlsEndpoint !== undefined) {
      // The same rounds against the TLS endpoint (the function trusts its certificate through NODE_EXTRA_CA_CERTS).
      const viaTls = (env) => ({ ...env, COVERAGE_S3_ENDPOINT: s3.tlsEndpoint, NODE_EXTRA_CA_CERTS: tls.certFile });
      const overTls = await firstFlushMs([
        { name: 'instrumented, no layer', taskRoot: lean, env: {} },
        { name: 'tls, light', taskRoot: lean, opt, env: viaTls(inlineLight.env) },
        { name: 'tls, sdk', taskRoot: lean, opt, env: viaTls(inlineSdk.env) },
        { name: 'tls, light, initialized ahead', taskRoot: lean, opt, env: viaTls({ ...inlineLight.env, AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' }) },
      ], firstRounds, 10);
      const [tl, ts, ta] = overTls.map((x) => x.added);
      console.log(`\nthe same over TLS (https on 127.0.0.1 in front of the local server, as S3's endpoints are; first invocation CPU only, ${firstRounds} paired rounds): light +${f1(tl)} ms, sdk +${f1(ts)} ms (sdk / light ${(ts / tl).toFixed(1)}x); initialized ahead, light +${f1(ta)} ms (init +${f1(overTls[2].init)} ms against +${f1(overTls[0].init)} ms on-demand)`);
    } else {
      console.log('\n(no openssl: the first flush over TLS was not measured)');
    }
    const signers = await signerProbe(s3.endpoint, quick ? 3 : 7);
    const a4 = signers.find((x) => x.client === 'aws4');
    console.log(`\nthe signers alone (plain Node process each, ${quick ? 3 : 7} runs, medians; ratio to aws4):`);
    console.log('client                       | load + first PUT ms | warm PUT p50 ms | added RSS MB');
    for (const x of signers) {
      const label = { sdk: '@aws-sdk/client-s3', smithy: '@smithy/signature-v4 + http', aws4: 'aws4 + http (light path)' }[x.client];
      console.log(`${label.padEnd(28)} | ${f1(x.first).padStart(8)} (${(x.first / a4.first).toFixed(1)}x) | ${f2(x.warm).padStart(8)} (${(x.warm / a4.warm).toFixed(2)}x) | ${f1(x.rss).padStart(6)} (${(x.rss / a4.rss).toFixed(1)}x)`);
    }

    // --- init (cold start) -----------------------------------------------------------------------
    // Rounds of one cold start per variant, the order turned each round; the added init is the median of
    // each round's difference to the instrumented bundle without the layer (paired: this machine's load
    // drifts over seconds, which would move whole medians by tens of ms).
    const coldRuns = quick ? 3 : 21;
    const cold = [
      { name: 'plain (no coverage)', taskRoot: plain, env: {} },
      { name: 'instrumented, no layer', taskRoot: lean, env: {} },
      { name: 'layer, inline', taskRoot: lean, opt, env: { ...s3Env(s3.endpoint), COVERAGE_ENABLED: '1', AWS_LAMBDA_EXEC_WRAPPER: `${opt}/lambda-coverage` } },
      { name: 'layer via NODE_OPTIONS', taskRoot: lean, opt, env: { ...s3Env(s3.endpoint), COVERAGE_ENABLED: '1', NODE_OPTIONS: `--require ${opt}/nodejs/node_modules/lambda-coverage/layer/preload.cjs` } },
    ].map((v) => ({ ...v, init: [], rt: [] }));
    for (let k = 0; k < coldRuns; k++) {
      for (let j = 0; j < cold.length; j++) {
        const v = cold[(j + k) % cold.length];
        const c = await startContainer({ taskRoot: v.taskRoot, optDir: v.opt, handler: 'index.handler', env: v.env, functionName: 'bench-cold' });
        await c.initDone;
        v.init.push(c.initMs);
        v.rt.push(c.runtimeInitMs);
        await c.shutdown();
      }
    }
    const paired = (a, b) => median(a.map((x, k) => x - b[k]));
    console.log(`\ninit (cold start), ${coldRuns} rounds: whole init (extensions registered + runtime ready) | runtime init alone, medians`);
    for (const v of cold) console.log(`${v.name.padEnd(24)} | ${f1(median(v.init)).padStart(6)} ms | ${f1(median(v.rt)).padStart(6)} ms`);
    for (const [v, how] of [[cold[2], 'exec wrapper'], [cold[3], 'NODE_OPTIONS preload']]) {
      const addedRt = paired(v.rt, cold[1].rt);
      const addedInit = paired(v.init, cold[1].init);
      console.log(`target: added init <= 20 ms, ${how} (median of the rounds' differences): runtime init +${f1(addedRt)} ms (${verdict(addedRt <= 20)}); whole init incl. starting the extension +${f1(addedInit)} ms (${verdict(addedInit <= 20)})`);
    }
    const start = await extensionStartMs(opt, work, quick ? 7 : 21);
    console.log(`the extension alone, spawn to register: ${f1(start.ext)} ms; a bash extension that only registers: ${f1(start.min)} ms; spawning a process that does nothing (/bin/true, to its exit), the floor of any external extension here: ${f1(start.floor)} ms`);
    console.log('anchor: the coverage.py layer: +200-500 ms cold start');

    // --- snapshot + encode ---------------------------------------------------------------------
    const mod = await import(pathToFileURL(join(lean, 'index.mjs')).href);
    for (let i = 0; i < 50; i++) await mod.handler({ i });
    const cov = globalThis.__coverage__;
    const files = Object.keys(cov).length;
    const meta = { functionName: 'bench', functionVersion: '$LATEST', containerId: 'c', startedAt: new Date().toISOString(), invocations: 50 };
    const wall = [];
    const cpu = [];
    let bytes = 0;
    let last;
    const shardWriter = new ShardWriter();
    const reps = quick ? 100 : 500;
    for (let i = 0; i < reps + 20; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      last = takeSnapshot(cov, undefined, last);
      bytes = encodeShard(shardWriter.write(meta, last, 'map', new Date())).length;
      const t1 = performance.now();
      const c1 = process.cpuUsage(c0);
      if (i >= 20) { wall.push(t1 - t0); cpu.push((c1.user + c1.system) / 1000); }
    }
    const leanJson = JSON.stringify(cov).length;
    const fullJson = Number(execFileSync(nodeBinary(), ['--input-type=module', '-e',
      `const m = await import(${JSON.stringify(pathToFileURL(join(full, 'index.mjs')).href)}); for (let i = 0; i < 50; i++) await m.handler({ i }); process.stdout.write(String(JSON.stringify(globalThis.__coverage__).length));`], { encoding: 'utf8' }));
    console.log(`\nsnapshot + encode of ${files} files (refill + sum the counters, write the JSON bytes, gzip: the collector's path), ${reps} runs:`);
    console.log(`wall p50 ${f2(median(wall))} ms, p99 ${f2(pct(wall, 99))} ms; CPU p50 ${f2(median(cpu))} ms`);
    console.log(`shard ${kb(bytes)} gzip | JSON.stringify(__coverage__): lean bundle ${kb(leanJson)} (${(leanJson / bytes).toFixed(0)}x), full Istanbul objects ${kb(fullJson)} (${(fullJson / bytes).toFixed(0)}x)`);
    console.log(`target: snapshot+encode <= 1 ms: ${f2(median(wall))} ms (${verdict(median(wall) <= 1)}); shard >= 20x smaller than JSON.stringify(__coverage__) of full objects: ${(fullJson / bytes).toFixed(0)}x (${verdict(fullJson / bytes >= 20)}), of the lean counters: ${(leanJson / bytes).toFixed(0)}x (${verdict(leanJson / bytes >= 20)})`);
  } finally {
    await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
    await s3.stop();
    if (!process.env.LC_BENCH_KEEP) rmSync(work, { recursive: true, force: true }); else console.log(work);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run({ quick: process.argv.includes('--quick') });
}
