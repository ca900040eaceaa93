// A seeded, bounded fuzz of the combiner's inputs (issue 10): real shards, maps documents and build
// manifests (the fixture app instrumented and run, encoded as the runtime encodes them) are mutated —
// truncated, bytes flipped, values of the wrong JSON type, huge/negative/fractional numbers, deep
// nesting, `__proto__`/`constructor` keys, unusual Unicode, duplicate keys in hand-written JSON text,
// hostile file paths — and read through the combiner's own layers (dirItems → ingest → merger, the
// path combine() takes) and, for some cases, the whole combine() with html and lcov reports.
// Properties:
//   1. never an exception other than the documented ones (a rejected input lands in `skipped`;
//      combine() throws only the CombineError family; a bad --manifest only ShardFormatError/InputRejectedError);
//   2. a mutated input is merged only if it still validates under the independent checker below,
//      written from the contract in contract/documents.ts, and then with exactly its own counts;
//   3. nothing outside the source root is read: a canary file outside it (reached by absolute paths,
//      `../`, and a symlink inside the root) never reaches a report, and fs.readFileSync is wrapped
//      while combine() runs to record every path read (an observation of the combiner's reads).
import { randomBytes } from 'node:crypto';
import fs, { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine } from '../../combiner/combine.js';
import { ingest, newStats } from '../../combiner/ingest.js';
import { CoverageMerger } from '../../combiner/merge.js';
import { dirItems } from '../../combiner/sources.js';
import { MANIFEST_FORMAT, MAPS_FORMAT, SHARD_FORMAT, decodeJsonGz, mapsKey, parseManifest, shardKey } from '../../contract/format.js';
import { ROOT, instrument, invoke, manifestOf, projectWithCanary, runContainer, toShard } from './helpers.js';

const SEED = 0x5eed_2026;
const CASES = 400;
/** Every merged case, every renamed file and every n-th case also run the whole combine() with reports (~50-100 ms each). */
const COMBINE_EVERY = 25;
const TOKEN = `CANARY-${randomBytes(12).toString('hex')}`;

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]! };
}
type Rng = ReturnType<typeof prng>;

// ---- the independent checker (from the contract in contract/documents.ts) --------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isCount = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isCounts = (a: unknown): a is number[] => Array.isArray(a) && a.every(isCount);

/** A relative POSIX path inside the project: no absolute/drive/backslash/control characters, no `.`/`..`/empty segments. */
function isProjectPath(p: unknown): boolean {
  if (typeof p !== 'string' || p.length === 0 || p.length > 4096) return false;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('\\')) return false;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

const isLine = (n: unknown) => isCount(n);
const isPos = (p: unknown) => isObj(p) && isLine(p.line) && (p.column === undefined || p.column === null || isCount(p.column));
const isRange = (r: unknown) => isObj(r) && isPos(r.start) && isPos(r.end);
const indices = (o: Record<string, unknown>) => Object.keys(o).every((k, i) => k === String(i));

function validFileMaps(m: unknown): m is { hash: string; statementMap: Record<string, unknown>; fnMap: Record<string, unknown>; branchMap: Record<string, { locations: unknown[] }> } {
  if (!isObj(m) || typeof m.hash !== 'string' || !isObj(m.statementMap) || !isObj(m.fnMap) || !isObj(m.branchMap)) return false;
  if (!indices(m.statementMap) || !indices(m.fnMap) || !indices(m.branchMap)) return false;
  if (!Object.values(m.statementMap).every(isRange)) return false;
  if (!Object.values(m.fnMap).every((f) => isObj(f) && typeof f.name === 'string' && isRange(f.decl) && isRange(f.loc) && isLine(f.line))) return false;
  return Object.values(m.branchMap).every((b) => isObj(b) && typeof b.type === 'string' && isRange(b.loc) && isLine(b.line) && Array.isArray(b.locations)
    && b.locations.every((l) => isRange(l) || (isObj(l) && Object.keys(l).length === 0) || (isObj(l) && isObj(l.start) && isObj(l.end))));
}

function validMapsDoc(d: unknown, mapId: string): d is { files: Record<string, unknown> } {
  if (!isObj(d) || d.format !== MAPS_FORMAT || d.version !== 1 || d.mapId !== mapId || !isObj(d.files)) return false;
  return Object.entries(d.files).every(([p, m]) => isProjectPath(p) && validFileMaps(m));
}

/** The shard and (when it names one) its maps document, joined: what may be merged. */
function validShard(doc: unknown, maps: unknown): boolean {
  if (!isObj(doc) || doc.format !== SHARD_FORMAT || (doc.version !== 1 && doc.version !== 2 && doc.version !== 3)) return false;
  if ((doc.tests !== undefined || doc.init !== undefined) && (doc.version !== 3 || !validPerTest(doc))) return false;
  for (const k of ['functionName', 'functionVersion', 'containerId', 'startedAt', 'updatedAt']) if (typeof doc[k] !== 'string') return false;
  if (!isCount(doc.invocations) || !(doc.mapId === null || typeof doc.mapId === 'string') || !isObj(doc.files)) return false;
  if (doc.mapId === null) return Object.keys(doc.files).length === 0; // the fixtures never carry their maps in a manifest here
  if (!validMapsDoc(maps, doc.mapId)) return false;
  const mapsFiles = maps.files as Record<string, ReturnType<typeof Object> & { hash: string; statementMap: object; fnMap: object; branchMap: Record<string, { locations: unknown[] }> }>;
  return Object.entries(doc.files).every(([p, c]) => {
    if (!isProjectPath(p) || !isObj(c) || !own(mapsFiles, p)) return false;
    const m = mapsFiles[p]!;
    if (doc.version === 1 ? typeof c.hash !== 'string' || c.hash === '' : c.hash !== undefined && typeof c.hash !== 'string') return false;
    if (c.hash !== undefined && c.hash !== m.hash) return false;
    if (!isCounts(c.s) || !isCounts(c.f) || !Array.isArray(c.b) || !c.b.every(isCounts)) return false;
    if (c.s.length !== Object.keys(m.statementMap).length || c.f.length !== Object.keys(m.fnMap).length || c.b.length !== Object.keys(m.branchMap).length) return false;
    return (c.b as number[][]).every((arms, i) => arms.length === m.branchMap[String(i)]!.locations.length);
  });
}

/** Version 3's per-test records: valid names, each naming files of the shard, [gap, count] pairs within them. */
function validPerTest(doc: Record<string, unknown>): boolean {
  const files = doc.files as Record<string, { s?: unknown[]; f?: unknown[]; b?: unknown[][] }>;
  const sparseOk = (recs: unknown) => isObj(recs) && Object.entries(recs).every(([p, r]) => {
    if (!own(files, p) || !Array.isArray(r) || r.length % 2 !== 0) return false;
    const c = files[p]!;
    if (!Array.isArray(c.s) || !Array.isArray(c.f) || !Array.isArray(c.b)) return false;
    const n = c.s.length + c.f.length + c.b.reduce((k: number, a) => k + (Array.isArray(a) ? a.length : 0), 0);
    let at = -1;
    for (let i = 0; i < r.length; i += 2) {
      if (!Number.isSafeInteger(r[i]) || r[i] < 0 || !Number.isSafeInteger(r[i + 1]) || r[i + 1] < 1) return false;
      at += r[i] + 1;
    }
    return at < n;
  });
  if (doc.init !== undefined && !sparseOk(doc.init)) return false;
  if (doc.tests === undefined) return true;
  if (!isObj(doc.tests)) return false;
  return Object.entries(doc.tests).every(([name, t]) => /^[A-Za-z0-9_.:/@#+=()[\]~ -]{1,128}$/.test(name) && name.trim() === name
    && name !== 'init' && name !== 'untagged' && isObj(t) && Number.isSafeInteger(t.invocations) && (t.invocations as number) > 0 && sparseOk(t.files));
}

function validManifest(d: unknown): boolean {
  if (!isObj(d) || d.format !== MANIFEST_FORMAT || d.version !== 1 || !isObj(d.files)) return false;
  return Object.entries(d.files).every(([p, m]) => isProjectPath(p) && validFileMaps(m));
}

/** Bytes as an independent reader sees them: gunzip when gzip'd, UTF-8, JSON.parse (the last of duplicate keys wins). */
function readIndependently(bytes: Buffer): { ok: true; doc: unknown } | { ok: false } {
  try {
    const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
    return { ok: true, doc: JSON.parse(raw.toString('utf8')) }; // invalid UTF-8 read as U+FFFD, as Node reads it
  } catch {
    return { ok: false };
  }
}

// ---- mutations ---------------------------------------------------------------------------------------

let canary = '';
const hostilePaths = () => [
  canary, `../outside/canary.ts`, `${'../'.repeat(12)}${canary.slice(1)}`, 'src/leak.js', '/etc/passwd', 'C:/Windows/win.ini', 'src\\calc2.js',
  'src/./x.js', 'src//x.js', './src/x.js', 'src/x.js/', '', '.', '..', 'src/\u0000x.js', 'src/\nx.js', 'src/\u001bx.js', 'src/\u2028x.js',
  'src/\u202ex.sj', 'src/\ud800x.js', 'src/\ufeffx.js', '__proto__', 'constructor', 'toString', 'hasOwnProperty', `src/${'b'.repeat(300)}.js`,
  'a'.repeat(5000), 'src/<img src=x onerror=alert(1)>.js', 'src/calc.js', 'src/greet.js',
];
const oddValues = (): Json[] => [
  null, true, false, '', 'x', 'NaN', '1', 0, -1, -0, 0.5, 1.5, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, Number.MAX_SAFE_INTEGER, [], {}, [[]], [1, -1], ['1'],
  { '': 1 }, '\ud800', '\u2028', '\u202e', '\u0000',
];

/** Every (parent, key) in a document, to pick a place to change. */
function places(doc: Json, out: { parent: Json[] | Record<string, Json>; key: string | number }[] = [], depth = 0): typeof out {
  if (depth > 8 || out.length > 5000) return out;
  if (Array.isArray(doc)) doc.forEach((v, i) => { out.push({ parent: doc, key: i }); places(v, out, depth + 1); });
  else if (isObj(doc)) for (const [k, v] of Object.entries(doc)) { out.push({ parent: doc, key: k }); places(v as Json, out, depth + 1); }
  return out;
}

function setOwn(o: Record<string, Json>, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Renames a file key (in the shard and, to keep the join, in its maps document too when `alsoIn` is given). */
function renameFile(r: Rng, doc: Record<string, Json>, alsoIn?: Record<string, Json>): string {
  const files = doc.files as Record<string, Json>;
  const keys = Object.keys(files);
  if (keys.length === 0) return 'rename (no files)';
  const from = r.pick(keys);
  const to = r.pick(hostilePaths());
  for (const d of [doc, alsoIn]) {
    const fs_ = d?.files as Record<string, Json> | undefined;
    if (!fs_ || !own(fs_, from)) continue;
    const v = fs_[from]!;
    delete fs_[from];
    setOwn(fs_, to, v);
    if (isObj(v) && typeof v.path === 'string') (v as Record<string, Json>).path = to;
  }
  return `rename ${JSON.stringify(from)} -> ${JSON.stringify(to.length > 60 ? `${to.slice(0, 20)}…(${to.length})` : to)}`;
}

function structural(r: Rng, doc: Json, partner?: Record<string, Json>): string {
  const ps = places(doc);
  const p = r.pick(ps);
  switch (r.int(6)) {
    case 0:
      if (isObj(doc) && isObj(doc.files)) return renameFile(r, doc as Record<string, Json>, partner);
      return 'rename (no files object)';
    case 1: {
      const v = r.pick(oddValues());
      (p.parent as Record<string, Json>)[p.key as string] = v;
      return `set ${String(p.key)} = ${JSON.stringify(v)}`;
    }
    case 2:
      if (Array.isArray(p.parent)) p.parent.splice(p.key as number, 1);
      else delete p.parent[p.key as string];
      return `delete ${String(p.key)}`;
    case 3: {
      const objs = ps.map((x) => x.parent).filter((x): x is Record<string, Json> => isObj(x));
      const target = objs.length > 0 ? r.pick(objs) : (doc as Record<string, Json>);
      const k = r.pick(['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'length']);
      setOwn(target, k, r.pick(oddValues()));
      return `add key ${k}`;
    }
    case 4: {
      // A placeholder, expanded in the text (JSON.stringify of the real thing would overflow the test's stack).
      const depth = r.pick([10, 1000, 50_000]);
      (p.parent as Record<string, Json>)[p.key as string] = `@@DEEP:${depth}@@`;
      return `nest ${String(p.key)} ${depth} deep`;
    }
    default: {
      const strs = ps.filter((x) => typeof (x.parent as Record<string, Json>)[x.key as string] === 'string');
      if (strs.length === 0) return 'no strings';
      const s = r.pick(strs);
      const u = r.pick(['\ud800', '\udfff', '\u2028', '\u2029', '\u202e', '\u0000', '\ufeff', '\uffff', '\u{1f600}']);
      const old = (s.parent as Record<string, Json>)[s.key as string] as string;
      (s.parent as Record<string, Json>)[s.key as string] = `${old.slice(0, 3)}${u}${old.slice(3)}`;
      return `unicode in ${String(s.key)}`;
    }
  }
}

/** Mutations of the JSON text (or bytes) itself. */
function textual(r: Rng, text: string): { bytes: Buffer; what: string } {
  switch (r.int(6)) {
    case 0: {
      const at = r.int(text.length);
      return { bytes: Buffer.from(text.slice(0, at)), what: `truncate at ${at}/${text.length}` };
    }
    case 1: {
      const b = Buffer.from(text);
      const n = 1 + r.int(4);
      for (let i = 0; i < n; i++) {
        const at = r.int(b.length);
        b[at] = b[at]! ^ (1 << r.int(8));
      }
      return { bytes: b, what: `flip ${n} bits` };
    }
    case 2: {
      // A key given twice: JSON.parse keeps the last; a reader that keeps the first reads another document.
      const m = [...text.matchAll(/"(files|version|format|mapId|invocations|s|f|b|src\/calc\.js|src\/greet\.js)":/g)];
      if (m.length === 0) return { bytes: Buffer.from(text), what: 'no key to duplicate' };
      const hit = r.pick(m);
      const dup = r.pick(['"x"', '-1', '[1e400]', '{}', '[0]', '9', `{"${canary}":{"s":[1],"f":[],"b":[]}}`, '"lambda-coverage/shard"']);
      const before = r.next() < 0.5;
      const insert = `"${hit[1]}":${dup},`;
      const at = before ? hit.index! : text.indexOf(',', hit.index! + hit[0].length) + 1 || hit.index!;
      return { bytes: Buffer.from(`${text.slice(0, at)}${insert}${text.slice(at)}`), what: `duplicate key ${hit[1]} (${before ? 'before' : 'after'}) = ${dup.slice(0, 40)}` };
    }
    case 3: {
      const m = [...text.matchAll(/(?<=[[,:])\d+(?=[\],}])/g)];
      if (m.length === 0) return { bytes: Buffer.from(text), what: 'no number' };
      const hit = r.pick(m);
      const v = r.pick(['1e400', '-0', '1.0', '1e2', '01', '-1', '0.5', '9007199254740993', '123456789012345678901234567890', 'NaN', 'Infinity', '0x10', '"1"']);
      return { bytes: Buffer.from(`${text.slice(0, hit.index!)}${v}${text.slice(hit.index! + hit[0].length)}`), what: `number -> ${v}` };
    }
    case 4: {
      const m = [...text.matchAll(/\[/g)];
      const hit = m.length > 0 ? r.pick(m) : { index: 0 };
      const n = 100_000;
      return { bytes: Buffer.from(`${text.slice(0, hit.index!)}${'['.repeat(n)}${']'.repeat(n)}${text.slice(hit.index! + 1).replace(/^[^\]]*\]/, '')}`), what: `100k-deep array` };
    }
    default: {
      // Raw bytes JSON.stringify never writes: invalid UTF-8, a NUL, an unescaped control character inside a string.
      const m = [...text.matchAll(/"[^"\\]{2,}"/g)];
      if (m.length === 0) return { bytes: Buffer.from(text), what: 'no string' };
      const hit = r.pick(m);
      const raw = r.pick([Buffer.from([0xff]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0]), Buffer.from('\n'), Buffer.from([0xe2, 0x80, 0xae])]);
      const at = Buffer.byteLength(text.slice(0, hit.index! + 2));
      const b = Buffer.from(text);
      return { bytes: Buffer.concat([b.subarray(0, at), raw, b.subarray(at)]), what: `raw bytes ${raw.toString('hex')} in a string` };
    }
  }
}

// ---- the fuzz ----------------------------------------------------------------------------------------

let work: string;
let project: string;
let base: { shard: Record<string, Json>; maps: Record<string, Json>; manifest: Record<string, Json> };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lc-fuzz-'));
  ({ project, canary } = projectWithCanary(work, TOKEN));
  const data = runContainer(instrument(), (m) => [0, 1, 2, 3].forEach((i) => invoke(m, i)));
  const s = toShard(data, { containerId: 'c0' });
  base = { shard: clone(s.shard) as unknown as Record<string, Json>, maps: clone(s.maps) as unknown as Record<string, Json>, manifest: clone(manifestOf(data)) as unknown as Record<string, Json> };
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Case { i: number; target: 'shard' | 'maps' | 'manifest'; what: string; shard: Buffer; maps: Buffer; manifest: Buffer }

function makeCase(r: Rng, i: number): Case {
  const target = r.pick(['shard', 'shard', 'shard', 'maps', 'maps', 'manifest'] as const);
  const shard = clone(base.shard);
  const maps = clone(base.maps);
  const manifest = clone(base.manifest);
  const doc = { shard, maps, manifest }[target];
  let what: string;
  let bytes: Buffer | undefined;
  if (r.next() < 0.55) {
    what = structural(r, doc, target === 'shard' ? maps : undefined);
  } else {
    ({ bytes, what } = textual(r, JSON.stringify(doc)));
  }
  const enc = (d: Json, mutated?: Buffer) => {
    const b = mutated ?? Buffer.from(JSON.stringify(d).replace(/"@@DEEP:(\d+)@@"/g, (_, n: string) => `${'['.repeat(Number(n))}0${']'.repeat(Number(n))}`));
    return r.next() < 0.85 ? gzipSync(b) : b;
  };
  return {
    i, target, what: `${target}: ${what}`,
    shard: target === 'shard' ? enc(shard, bytes) : gzipSync(JSON.stringify(shard)),
    maps: target === 'maps' ? enc(maps, bytes) : gzipSync(JSON.stringify(maps)),
    manifest: target === 'manifest' ? enc(manifest, bytes) : Buffer.from(JSON.stringify(manifest)),
  };
}

/** Lays a case out as the S3 layout copied down: `coverage/orders/{shards,maps}/…`. */
function layOut(c: Case): string {
  const dir = join(work, 'cases', String(c.i));
  const mapId = (base.shard.mapId as string);
  for (const [key, body] of [[shardKey('coverage/', 'orders', 'c0'), c.shard], [mapsKey('coverage/', 'orders', mapId), c.maps]] as const) {
    mkdirSync(dirname(join(dir, key)), { recursive: true });
    writeFileSync(join(dir, key), body);
  }
  return dir;
}

/** What the case's inputs are, read by the independent checker. */
function expectation(c: Case): { valid: boolean; counts?: Record<string, number[]> } {
  if (c.what.includes('deep')) return { valid: false }; // nothing in the contract is 1,000 arrays deep
  if (c.target === 'manifest') {
    const m = readIndependently(c.manifest);
    return { valid: m.ok && validManifest(m.doc) };
  }
  const s = readIndependently(c.shard);
  const m = readIndependently(c.maps);
  if (!s.ok) return { valid: false };
  const valid = validShard(s.doc, m.ok ? m.doc : undefined);
  const counts: Record<string, number[]> = {};
  if (valid) for (const [p, v] of Object.entries((s.doc as { files: Record<string, { s: number[] }> }).files)) counts[p] = v.s;
  return { valid, counts };
}

const DOCUMENTED_INPUT_ERRORS = new Set(['ShardFormatError', 'InputRejectedError']);
const DOCUMENTED_COMBINE_ERRORS = new Set(['CombineError', 'TooManyInvalidError']);

/** fs.readFileSync wrapped while `fn` runs (ESM named imports follow through syncBuiltinESMExports). */
async function recordingReads<T>(fn: () => Promise<T>): Promise<{ value: T; reads: string[] }> {
  const original = fs.readFileSync;
  const reads: string[] = [];
  fs.readFileSync = ((p: unknown, ...rest: unknown[]) => {
    if (typeof p === 'string' || p instanceof URL) reads.push(String(p));
    return (original as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof fs.readFileSync;
  syncBuiltinESMExports();
  try {
    return { value: await fn(), reads };
  } finally {
    fs.readFileSync = original;
    syncBuiltinESMExports();
  }
}

function outsideReads(reads: string[], allowed: string[]): string[] {
  return reads.filter((p) => {
    let real: string;
    try { real = realpathSync(resolve(p)); } catch { real = resolve(p); }
    return !allowed.some((root) => real === root || real.startsWith(`${root}${sep}`));
  });
}

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch { return []; }
}

describe(`fuzzed shards, maps documents and manifests (seed 0x${SEED.toString(16)}, ${CASES} cases)`, () => {
  it('never throws an undocumented error, merges only what validates (with its own counts), and reads nothing outside the source root', async () => {
    const r = prng(SEED);
    const failures: string[] = [];
    let merged = 0;
    let refused = 0;
    const started = Date.now();
    for (let i = 0; i < CASES; i++) {
      const c = makeCase(r, i);
      const exp = expectation(c);
      const fail = (why: string) => failures.push(`#${i} ${c.what}: ${why}`);
      if (c.target === 'manifest') {
        try {
          const merger = new CoverageMerger();
          merger.addManifest(parseManifest(decodeJsonGz(c.manifest, 'manifest'), 'manifest'), { source: 'manifest', time: 0 });
          merger.result();
          merged++;
          if (!exp.valid) fail('manifest accepted, but it does not validate');
        } catch (e) {
          refused++;
          if (!DOCUMENTED_INPUT_ERRORS.has((e as Error).name)) fail(`threw ${(e as Error).name}: ${(e as Error).message.slice(0, 160)}`);
        }
        continue;
      }
      const dir = layOut(c);
      let accepted = false;
      // FUZZ_KEEP=17 keeps case #17's inputs (and prints where) to reproduce it with the bin: combine --dir <that>.
      if (process.env.FUZZ_KEEP === String(i)) {
        const kept = mkdtempSync(join(tmpdir(), `lc-fuzz-case-${i}-`));
        fs.cpSync(dir, kept, { recursive: true });
        console.log(`fuzz case #${i} (${c.what}) kept in ${kept}`);
      }
      const merger = new CoverageMerger();
      const stats = newStats();
      try {
        await ingest([dirItems({ path: dir })], merger, stats, { concurrency: 1, threads: 0 });
        const result = merger.result();
        accepted = stats.shards + stats.coverageFiles > 0;
        if (accepted) merged++; else refused++;
        if (accepted && !exp.valid) fail(`merged (${stats.shards} shard, ${stats.coverageFiles} coverage file), but it does not validate`);
        if (!accepted && stats.skipped.length === 0) fail('neither merged nor named in skipped');
        if (accepted && exp.valid && exp.counts) {
          const data = result.builds[0]?.coverageMap.data as Record<string, { data: { s: Record<string, number> } }> | undefined;
          for (const [p, s] of Object.entries(exp.counts)) {
            const got = data && own(data, p) ? Object.values(data[p]!.data.s) : undefined;
            if (JSON.stringify(got) !== JSON.stringify(s)) fail(`merged ${JSON.stringify(p)} with ${JSON.stringify(got)}, the document says ${JSON.stringify(s)}`);
          }
        }
      } catch (e) {
        fail(`threw ${(e as Error).name}: ${(e as Error).message.slice(0, 160)}`);
      }
      // Reports are where a merged input can still do harm (a location a reporter trips on, a path it reads).
      if (accepted || i % COMBINE_EVERY === 0 || c.what.includes('rename')) {
        const out = join(work, 'out', String(i));
        try {
          const { reads } = await recordingReads(() => combine({
            dirs: [dir], manifests: [], out, reporters: ['html', 'lcov', 'cobertura', 'json'], sourceRoot: project, threads: 0, cwd: work, env: {},
          }));
          const outside = outsideReads(reads, [realpathSync(dir), realpathSync(project), realpathSync(join(ROOT, 'node_modules')), resolve(out)]);
          if (outside.length > 0) fail(`combine() read outside the source root: ${outside.slice(0, 3).join(', ')}`);
        } catch (e) {
          if (!DOCUMENTED_COMBINE_ERRORS.has((e as Error).name)) fail(`combine() threw ${(e as Error).name}: ${(e as Error).message.slice(0, 160)}`);
        }
        const leaked = filesUnder(out).filter((f) => readFileSync(f).includes(TOKEN));
        if (leaked.length > 0) fail(`the canary's content is in ${leaked.map((f) => relative(out, f)).join(', ')}`);
        rmSync(out, { recursive: true, force: true });
      }
      rmSync(dir, { recursive: true, force: true });
    }
    // The fuzz must exercise both sides, within its bound.
    expect(merged, 'cases merged').toBeGreaterThan(10);
    expect(refused, 'cases refused').toBeGreaterThan(CASES / 3);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(failures).toEqual([]);
  }, 180_000);

  it('the independent checker accepts the unmutated real documents', () => {
    expect(validShard(base.shard, base.maps)).toBe(true);
    expect(validManifest(base.manifest)).toBe(true);
    expect(isProjectPath('src/a b/ü.js')).toBe(true);
    for (const bad of ['/x', '../x', 'a/../b', 'a//b', './a', 'a/.', 'C:/x', 'a\\b', 'a\u0000b', 'a\nb', '']) expect(isProjectPath(bad), bad).toBe(false);
  });
});
