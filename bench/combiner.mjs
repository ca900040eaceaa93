// Combiner benchmark: shards of rxjs's real Istanbul map (node_modules/rxjs/src instrumented once with
// istanbul-lib-instrument, ≥ 200 files) with synthesized counters, merged side by side in one run by
//   nyc merge  ·  istanbul-merge  ·  istanbul-lib-coverage directly  ·  lambda-coverage combine (ours)
// at 1,000 shards (quick: 200), then ours at 10,000 shards (quick: 2,000) from the local S3 server,
// with peak memory (maxRSS of the child process) at both sizes; and ours on the same 1,000 shards each
// carrying 50 tests' per-test records (shard version 3) beside the plain ones, interleaved in one run.
// LC_BENCH_ONLY=per-test runs only that comparison. Every tool runs as its own child
// process, timed from spawn to exit. Run from dist/ after `npm run build`: `npm run bench -- combiner`.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createInstrumenter } from 'istanbul-lib-instrument';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = existsSync(join(ROOT, 'node_modules/.bin/node')) ? join(ROOT, 'node_modules/.bin/node') : process.execPath;
// LC_BENCH_DIST: another build output (e.g. a private tsc --outDir while dist/ is being rebuilt).
const DIST_DIR = process.env.LC_BENCH_DIST ?? join(ROOT, 'dist');
const DIST = join(DIST_DIR, 'combiner/index.js');
const FORMAT = await import(pathToFileURL(join(DIST_DIR, 'contract/format.js')).href);

/** Deterministic PRNG (mulberry32), so every run merges the same counters. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** rxjs's sources instrumented once: the real static maps of ≥ 200 files. */
function rxjsCorpus() {
  const root = join(ROOT, 'node_modules/rxjs');
  const files = [];
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(join(root, 'src'));
  const inst = createInstrumenter({ parserPlugins: ['typescript'], esModules: true });
  const corpus = {};
  for (const f of files.sort()) {
    try {
      inst.instrumentSync(readFileSync(f, 'utf8'), relative(root, f));
      const fc = inst.lastFileCoverage();
      // lastFileCoverage() carries no hash; Istanbul's is the sha1 of the coverage object, as here.
      fc.hash = createHash('sha1').update(JSON.stringify(fc)).digest('hex');
      corpus[fc.path] = fc;
    } catch { /* a file Babel cannot parse is left out */ }
  }
  return corpus;
}

/** One container's counters: some files never loaded, others with a spread of hits. */
function synthesize(corpus, seed) {
  const r = rng(seed);
  const hit = () => (r() < 0.45 ? 0 : 1 + Math.floor(r() * 40));
  const out = {};
  for (const [path, fc] of Object.entries(corpus)) {
    const loaded = r() > 0.25;
    const n = (o) => Object.keys(o).length;
    out[path] = {
      hash: fc.hash,
      s: Array.from({ length: n(fc.statementMap) }, () => (loaded ? hit() : 0)),
      f: Array.from({ length: n(fc.fnMap) }, () => (loaded ? hit() : 0)),
      b: Object.values(fc.branchMap).map((m) => m.locations.map(() => (loaded ? hit() : 0))),
    };
  }
  return out;
}

/**
 * Per-test records for one container's counters: each moved counter's count goes to one of `tests`
 * tests (or, one in ten, to init), as sparse [gap, count] records (contract/tests.ts). The totals
 * stay the container's own, so a tagged shard has the same counters as a plain one.
 */
function perTestOf(corpus, counters, seed, tests) {
  const r = rng(seed ^ 0x7e57);
  const names = Array.from({ length: tests }, (_, i) => `suite-${i % 7}/test ${i}`);
  const recs = names.map(() => ({}));
  const init = {};
  for (const path of Object.keys(corpus)) {
    const { s, f, b } = counters[path];
    const flat = [...s, ...f, ...b.flat()];
    const offsets = new Map();
    flat.forEach((n, o) => {
      if (n === 0) return;
      const t = r() < 0.1 ? -1 : Math.floor(r() * tests);
      const list = offsets.get(t) ?? [];
      list.push(o, n);
      offsets.set(t, list);
    });
    for (const [t, list] of offsets) {
      const sparse = [];
      let prev = -1;
      for (let k = 0; k < list.length; k += 2) { sparse.push(list[k] - prev - 1, list[k + 1]); prev = list[k]; }
      if (t < 0) init[path] = sparse; else recs[t][path] = sparse;
    }
  }
  return { tests: Object.fromEntries(names.map((n, i) => [n, { invocations: 1 + Math.floor(r() * 5), files: recs[i] }])), init };
}

function fullJson(corpus, counters) {
  const out = {};
  for (const [path, fc] of Object.entries(corpus)) {
    const c = counters[path];
    out[path] = { ...fc, s: FORMAT.arrayToCounters(c.s), f: FORMAT.arrayToCounters(c.f), b: FORMAT.arrayToCounters(c.b) };
  }
  return JSON.stringify(out);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs a child to completion; returns wall ms and its last stdout line parsed as JSON when it is one. */
async function timed(args, opts = {}) {
  const t = performance.now();
  const { stdout } = await execFileP(NODE, args, { maxBuffer: 256 * 1024 * 1024, cwd: ROOT, ...opts });
  const ms = performance.now() - t;
  const last = stdout.trim().split('\n').pop() ?? '';
  let info = {};
  try { info = JSON.parse(last); } catch { /* tools that print nothing */ }
  return { ms, info };
}

const OURS = `
const { combine } = await import(${JSON.stringify(pathToFileURL(DIST).href)});
const r = await combine(JSON.parse(process.argv[1]));
console.log(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS, shards: r.summary.shards, skipped: r.summary.skipped.length, firstSkip: r.summary.skipped[0]?.reason, lines: r.summary.totals.lines.pct }));
`;
const LIB_DIRECT = `
const fs = require('node:fs'); const path = require('node:path');
const lib = require(${JSON.stringify(join(ROOT, 'node_modules/istanbul-lib-coverage'))});
const [dir, out] = process.argv.slice(1);
const map = lib.createCoverageMap({});
for (const f of fs.readdirSync(dir)) map.merge(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
fs.writeFileSync(out, JSON.stringify(map));
console.log(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS }));
`;

/** The local S3 server in a process with OpenSSL's legacy provider (s3rver pages lists with DES). */
async function startS3(bucket) {
  const script = `
import { startLocalS3 } from ${JSON.stringify(pathToFileURL(join(ROOT, 'scripts/local/s3.mjs')).href)};
const s3 = await startLocalS3({ buckets: [${JSON.stringify(bucket)}] });
console.log(JSON.stringify({ endpoint: s3.endpoint }));
const stop = async () => { await s3.stop(); process.exit(0); };
process.on('SIGTERM', stop); process.stdin.on('end', stop); process.stdin.resume();`;
  const child = spawn(NODE, ['--openssl-legacy-provider', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const endpoint = await new Promise((res, rej) => {
    createInterface({ input: child.stdout }).once('line', (l) => res(JSON.parse(l).endpoint));
    child.once('exit', (c) => rej(new Error(`local S3 exited ${c}`)));
  });
  return {
    endpoint,
    stop: () => new Promise((res) => { child.once('exit', res); child.kill('SIGTERM'); setTimeout(() => { child.kill('SIGKILL'); res(); }, 5000).unref(); }),
  };
}

async function pool(n, count, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < count) await fn(i++); }));
}

export async function run({ quick = false } = {}) {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` first');
  // LC_BENCH_SHARDS / LC_BENCH_BIG override the sizes (for a quick look while working on the combiner).
  const N = Number(process.env.LC_BENCH_SHARDS) || (quick ? 200 : 1000);
  const BIG = Number(process.env.LC_BENCH_BIG) || (quick ? 2000 : 10000);
  const RUNS = 3;
  const TEMPLATES = 32;
  const work = mkdtempSync(join(tmpdir(), 'lc-bench-combiner-'));
  const log = (s) => console.log(s);
  try {
    let t = performance.now();
    const corpus = rxjsCorpus();
    const nFiles = Object.keys(corpus).length;
    log(`corpus: ${nFiles} files of node_modules/rxjs/src instrumented in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Inputs: N plain Istanbul JSON files (for the peers) and N lean shards + one maps doc (ours).
    t = performance.now();
    const templates = Array.from({ length: TEMPLATES }, (_, i) => synthesize(corpus, i + 1));
    const mapsFiles = Object.fromEntries(Object.entries(corpus).map(([p, fc]) => [p, { path: p, hash: fc.hash, statementMap: fc.statementMap, fnMap: fc.fnMap, branchMap: fc.branchMap }]));
    const mapId = FORMAT.computeMapId(Object.values(mapsFiles));
    const mapsGz = FORMAT.encodeJsonGz({ format: FORMAT.MAPS_FORMAT, version: FORMAT.FORMAT_VERSION, mapId, files: mapsFiles });
    // Every shard is its own container (the combiner counts a container once). A gzip file may hold
    // several members, read back as one stream: a small member naming the container, then one of the
    // templates' bodies, gzip'd once.
    // As the runtime writes them (shard version 2): the files' hashes are in the maps document only.
    const bodies = templates.map((files) => gzipSync(JSON.stringify({
      format: FORMAT.SHARD_FORMAT, version: FORMAT.SHARD_VERSION, functionName: 'rxjs-app', functionVersion: '1',
      startedAt: '2026-11-01T00:00:00.000Z', updatedAt: '2026-11-01T00:10:00.000Z', invocations: 10, mapId,
      files: Object.fromEntries(Object.entries(files).map(([p, { s, f, b }]) => [p, { s, f, b }])),
    }).slice(1)));
    const shardGz = (i) => Buffer.concat([gzipSync(`{"containerId":"c${i}",`), bodies[i % TEMPLATES]]);
    const plainDir = join(work, 'plain');
    const shardsDir = join(work, 'lambda/coverage/rxjs-app/shards');
    mkdirSync(plainDir, { recursive: true });
    mkdirSync(shardsDir, { recursive: true });
    mkdirSync(join(work, 'lambda/coverage/rxjs-app/maps'), { recursive: true });
    writeFileSync(join(work, 'lambda/coverage/rxjs-app/maps', `${mapId}.json.gz`), mapsGz);
    const plainTexts = templates.map((c) => fullJson(corpus, c));
    for (let i = 0; i < N; i++) {
      writeFileSync(join(plainDir, `s${String(i).padStart(5, '0')}.json`), plainTexts[i % TEMPLATES]);
      writeFileSync(join(shardsDir, `c${i}.json.gz`), shardGz(i));
    }
    // The same containers, each shard also carrying 50 tests (version 3).
    const TESTS = 50;
    const taggedBodies = templates.map((files, k) => gzipSync(JSON.stringify({
      format: FORMAT.SHARD_FORMAT, version: 3, functionName: 'rxjs-app', functionVersion: '1',
      startedAt: '2026-11-01T00:00:00.000Z', updatedAt: '2026-11-01T00:10:00.000Z', invocations: 10, mapId,
      files: Object.fromEntries(Object.entries(files).map(([p, { s, f, b }]) => [p, { s, f, b }])),
      ...perTestOf(corpus, files, k + 1, TESTS),
    }).slice(1)));
    const taggedGz = (i) => Buffer.concat([gzipSync(`{"containerId":"c${i}",`), taggedBodies[i % TEMPLATES]]);
    const taggedDir = join(work, 'tagged/coverage/rxjs-app');
    mkdirSync(join(taggedDir, 'shards'), { recursive: true });
    mkdirSync(join(taggedDir, 'maps'), { recursive: true });
    writeFileSync(join(taggedDir, 'maps', `${mapId}.json.gz`), mapsGz);
    for (let i = 0; i < N; i++) writeFileSync(join(taggedDir, 'shards', `c${i}.json.gz`), taggedGz(i));
    log(`inputs: ${N} shards; full Istanbul JSON ${(plainTexts[0].length / 1024).toFixed(0)} KiB each for the peers, ours ${(shardGz(0).length / 1024).toFixed(1)} KiB gzip'd counters (${(taggedGz(0).length / 1024).toFixed(1)} KiB with ${TESTS} tests' records) + one ${(mapsGz.length / 1024).toFixed(0)} KiB maps doc (${((performance.now() - t) / 1000).toFixed(1)} s to write)`);

    const rows = [];
    const measure = async (name, shards, fn, runs = RUNS) => {
      const times = [];
      let rss;
      let last;
      for (let r = 0; r < runs; r++) {
        const { ms, info } = await fn(r);
        last = info;
        if (info.skipped) throw new Error(`${name}: ${info.skipped} inputs skipped (${info.firstSkip}); the benchmark's inputs are wrong`);
        times.push(ms);
        if (info.maxRSS) rss = Math.max(rss ?? 0, info.maxRSS);
      }
      rows.push({ name, shards, median: median(times), runs, rss });
      const read = last?.shards !== undefined ? `  (read ${last.shards}, skipped ${last.skipped}${last.firstSkip ? `: ${last.firstSkip}` : ''})` : '';
      log(`  ${name.padEnd(34)} ${String(shards).padStart(6)} shards  median ${(median(times) / 1000).toFixed(2)} s over ${runs} run(s)${rss ? `  maxRSS ${(rss / 1024).toFixed(0)} MiB` : ''}${read}`);
    };

    // Per-test: the same 1,000 containers with and without 50 tests' records, runs interleaved so the
    // machine's state weighs on both alike; the json report (decode + merge + one report), and with
    // --per-test's outputs written too.
    log(`\nper-test records: ${N} shards carrying ${TESTS} tests each vs the same ${N} plain shards (json report):`);
    const combineDir = (dir, r, extra = {}) => timed(['--input-type=module', '-e', OURS,
      JSON.stringify({ dirs: [dir], out: join(work, `pt-${r}-${Math.random().toString(36).slice(2)}`), reporters: ['json'], sourceRoot: null, ...extra })]);
    const PT_RUNS = quick ? 3 : 7;
    const ptTimes = { plain: [], tagged: [], perTest: [] };
    for (let r = 0; r < PT_RUNS; r++) {
      ptTimes.plain.push((await combineDir(join(work, 'lambda'), r)).ms);
      const tagged = await combineDir(join(work, 'tagged'), r);
      if (tagged.info.skipped) throw new Error(`tagged shards skipped: ${tagged.info.firstSkip}`);
      ptTimes.tagged.push(tagged.ms);
      ptTimes.perTest.push((await combineDir(join(work, 'tagged'), r, { perTest: true })).ms);
    }
    const [mp, mt, mpt] = [median(ptTimes.plain), median(ptTimes.tagged), median(ptTimes.perTest)];
    log(`  plain shards                         median ${(mp / 1000).toFixed(2)} s over ${PT_RUNS} runs`);
    log(`  shards with ${TESTS} tests                median ${(mt / 1000).toFixed(2)} s  (${(mt / mp).toFixed(2)}× plain; target ≤ 2×: ${mt / mp <= 2 ? 'met' : 'NOT met'})`);
    log(`  shards with ${TESTS} tests, --per-test     median ${(mpt / 1000).toFixed(2)} s  (${(mpt / mp).toFixed(2)}× plain)`);
    if (process.env.LC_BENCH_ONLY === 'per-test') return;

    log(`\nside by side at ${N} shards (rxjs map, ${nFiles} files):`);
    const peers = process.env.LC_BENCH_PEERS !== '0'; // LC_BENCH_PEERS=0: ours only (while profiling)
    if (peers) await measure('nyc merge', N, (r) => timed([join(ROOT, 'node_modules/nyc/bin/nyc.js'), 'merge', plainDir, join(work, `nyc-${r}.json`)]));
    if (peers) await measure('istanbul-merge', N, (r) => timed([join(ROOT, 'node_modules/istanbul-merge/bin/istanbul-merge'), '--out', join(work, `im-${r}.json`), `${plainDir}/*.json`]));
    if (peers) await measure('istanbul-lib-coverage direct', N, (r) => timed(['-e', LIB_DIRECT, join(plainDir), join(work, `lib-${r}.json`)]));
    // Ours runs in about a second, so more runs cost little and steady its median on a noisy machine.
    await measure('lambda-coverage (dir, json report)', N, (r) => timed(['--input-type=module', '-e', OURS,
      JSON.stringify({ dirs: [join(work, 'lambda')], out: join(work, `ours-${r}`), reporters: ['json'], sourceRoot: null })]), 7);

    // Same counters as nyc merge?
    if (peers) {
    const nycOut = JSON.parse(readFileSync(join(work, 'nyc-0.json'), 'utf8'));
    const ours = JSON.parse(readFileSync(join(work, 'ours-0/coverage-final.json'), 'utf8'));
    const same = Object.keys(nycOut).length === Object.keys(ours).length
      && Object.entries(nycOut).every(([k, v]) => JSON.stringify([v.s, v.f, v.b]) === JSON.stringify([ours[k]?.s, ours[k]?.f, ours[k]?.b]));
    const diff = Object.keys(nycOut).find((k) => JSON.stringify([nycOut[k].s, nycOut[k].f, nycOut[k].b]) !== JSON.stringify([ours[k]?.s, ours[k]?.f, ours[k]?.b]));
    const show = (v) => String(JSON.stringify(v)).slice(0, 160);
    log(`  counters identical to nyc merge's output: ${same ? 'yes' : `NO (${Object.keys(nycOut).length} vs ${Object.keys(ours).length} files; first difference ${diff}: ${show(nycOut[diff])} vs ${show(ours[diff])})`}`);
    }
    rmSync(plainDir, { recursive: true, force: true });

    // From the local S3 server: N and BIG shards, all default reports written.
    log(`\nfrom the local S3 server (s3rver on 127.0.0.1), default reports (text-summary, html, lcov, json, json-summary):`);
    const s3 = await startS3('bench');
    try {
      const client = new S3Client({
        endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
      });
      t = performance.now();
      const put = (prefix) => async (i) => {
        if (i === 0) await client.send(new PutObjectCommand({ Bucket: 'bench', Key: FORMAT.mapsKey(prefix, 'rxjs-app', mapId), Body: mapsGz }));
        await client.send(new PutObjectCommand({ Bucket: 'bench', Key: FORMAT.shardKey(prefix, 'rxjs-app', `c${i}`), Body: shardGz(i) }));
      };
      await pool(32, N, put('small/'));
      await pool(32, BIG, put('big/'));
      client.destroy();
      log(`  uploaded ${N + BIG} shards in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed below)`);
      const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
      const s3opts = (prefix, r) => JSON.stringify({ bucket: 'bench', prefix, endpointUrl: s3.endpoint, forcePathStyle: true, out: join(work, `s3-${prefix}${r}`), sourceRoot: null });
      await measure('lambda-coverage (S3)', N, (r) => timed(['--input-type=module', '-e', OURS, s3opts('small/', r)], { env }));
      await measure('lambda-coverage (S3)', BIG, (r) => timed(['--input-type=module', '-e', OURS, s3opts('big/', r)], { env }), quick ? 1 : RUNS);
    } finally {
      await s3.stop();
    }

    const get = (name, shards) => rows.find((r) => r.name === name && r.shards === shards);
    const oursDir = get('lambda-coverage (dir, json report)', N);
    log(`\n| tool | shards | median | vs ours |\n|---|---:|---:|---:|`);
    for (const r of rows.filter((x) => x.shards === N && !x.name.includes('(S3)') && oursDir)) {
      log(`| ${r.name} | ${r.shards} | ${(r.median / 1000).toFixed(2)} s | ${(r.median / oursDir.median).toFixed(1)}× |`);
    }
    const small = get('lambda-coverage (S3)', N);
    const big = get('lambda-coverage (S3)', BIG);
    const nyc = get('nyc merge', N);
    const full = N === 1000 && BIG === 10000;
    const verdict = (ok) => (full ? (ok ? 'met' : 'NOT met') : '(targets are for 1,000 and 10,000 shards: run without --quick)');
    log(`\ntargets (issue 4):`);
    if (nyc) log(`  ≥ 20× faster than nyc merge at 1,000 shards: ${(nyc.median / oursDir.median).toFixed(1)}× at ${N} ${verdict(nyc.median / oursDir.median >= 20)}`);
    log(`  10,000 shards from S3 merged and reported in < 60 s: ${(big.median / 1000).toFixed(1)} s at ${BIG} ${verdict(big.median < 60_000)}`);
    log(`  peak memory 1,000 → 10,000 shards ≤ 1.5×: ${(small.rss / 1024).toFixed(0)} MiB at ${N} → ${(big.rss / 1024).toFixed(0)} MiB at ${BIG} = ${(big.rss / small.rss).toFixed(2)}× ${verdict(big.rss / small.rss <= 1.5)}`);
  } finally {
    if (process.env.LC_BENCH_KEEP === '1') log(`inputs kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
