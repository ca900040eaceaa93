// The one-pass shard reader must give exactly what JSON.parse + parseShard + packShard give, and must
// hand everything it cannot read that way to that general path.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeInput, packShard } from '../../contract/decode.js';
import { scanShard } from '../../contract/scan.js';
import { buildShard, takeSnapshot } from '../../runtime/snapshot.js';
import { encodeShard } from '../../runtime/collector.js';
import { ShardWriter } from '../../runtime/shard-bytes.js';
import { DEFAULT_LIMITS, encodeSparse, parseShard, SHARD_FORMAT, SHARD_VERSIONS_READ, shardNeedsHashes } from '../../contract/format.js';

/** A small seeded generator (an LCG), so every run tries the same shards. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296;
}

const PATHS = ['src/a.ts', 'src/déjà vu/ü.ts', 'lib/x y.js', 'abs/path/中文.ts', 'a', '12a', 'src/0.ts'];
const TEST_NAMES = ['checkout/pays with card', 'orders:create (VIP)', 'a', '7up', 'x_y.z#1', 'ü-not-ascii'.replace('ü', 'u'), '[smoke] ~health=ok+@v2'];

function randomShard(seed: number): Record<string, unknown> {
  const r = rng(seed);
  const count = () => (r() < 0.4 ? 0 : r() < 0.9 ? Math.floor(r() * 50) : Math.floor(r() * 1e15));
  const arr = (n: number) => Array.from({ length: n }, count);
  // Every version the reader reads (the contract's own list), so a new version is held equal too.
  // (By seed, not by r(): this generator's first draw is nearly the same for small seeds.)
  const version = SHARD_VERSIONS_READ[seed % SHARD_VERSIONS_READ.length]!;
  const mapId = r() < 0.2 ? null : 'm'.repeat(1 + Math.floor(r() * 32));
  const files: Record<string, unknown> = {};
  for (const p of PATHS) {
    if (r() < 0.2) continue;
    const file: Record<string, unknown> = {};
    if (shardNeedsHashes(version, mapId) || r() < 0.2) file.hash = `h${Math.floor(r() * 1e9)}`;
    file.s = arr(Math.floor(r() * 30));
    file.f = arr(Math.floor(r() * 6));
    file.b = Array.from({ length: Math.floor(r() * 8) }, () => arr(Math.floor(r() * 4)));
    if (r() < 0.2) { file.startedAt = '2026-01-01T00:00:00.000Z'; file.updatedAt = '2026-01-02T00:00:00.000Z'; }
    files[p] = file;
  }
  const meta: Record<string, unknown> = {
    format: SHARD_FORMAT, version, functionName: 'fn', functionVersion: '$LATEST', containerId: `c${seed}`,
    startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:05:00.000Z', invocations: Math.floor(r() * 1000), mapId,
  };
  // Version 3: per-test records over some of the files (and now and then none), in any key order.
  const perTest: Record<string, unknown> = {};
  if (version === 3 && r() < 0.85) {
    const records = () => {
      const out: Record<string, number[]> = {};
      const entries = Object.entries(files) as [string, { s: number[]; f: number[]; b: number[][] }][];
      // Now and then not in the files' order (a test that moved a file again later).
      if (r() < 0.3) entries.reverse();
      for (const [p, file] of entries) {
        if (r() < 0.4) continue;
        const n = file.s.length + file.f.length + file.b.reduce((k, a) => k + a.length, 0);
        const offsets = Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.3);
        out[p] = encodeSparse(offsets, offsets.map(() => (r() < 0.95 ? 1 + Math.floor(r() * 40) : 1 + Math.floor(r() * 1e14))));
      }
      return out;
    };
    if (r() < 0.8) {
      const tests: Record<string, unknown> = {};
      for (const name of TEST_NAMES) {
        if (r() < 0.4) continue;
        const rec = { invocations: 1 + Math.floor(r() * 30), files: records() };
        tests[name] = r() < 0.5 ? rec : { files: rec.files, invocations: rec.invocations };
      }
      perTest.tests = tests;
    }
    if (r() < 0.7) perTest.init = records();
  }
  // Any key order: files first or last, the per-test records before or after the files.
  const body = r() < 0.5 ? { ...perTest, files } : { files, ...perTest };
  return r() < 0.5 ? { ...meta, ...body } : { ...body, ...meta };
}

const general = (text: string) => packShard(parseShard(JSON.parse(text)));

describe('scanShard (one-pass shard reader)', () => {
  it('reads 300 random shards exactly as JSON.parse + parseShard + packShard, compact and pretty-printed, of every version read', () => {
    const versions = new Set<unknown>();
    let withTests = 0;
    let withInit = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const doc = randomShard(seed);
      versions.add(doc.version);
      if (doc.tests !== undefined) withTests++;
      if (doc.init !== undefined) withInit++;
      for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, seed % 2 ? 2 : '\t')]) {
        const fast = scanShard(Buffer.from(text));
        expect(fast, `seed ${seed}`).toBeDefined();
        expect(fast).toEqual(general(text));
      }
    }
    expect([...versions].sort()).toEqual([...SHARD_VERSIONS_READ].sort());
    // Most version-3 shards carry per-test records, some only init, some neither.
    expect(withTests).toBeGreaterThan(50);
    expect(withInit).toBeGreaterThan(40);
  });

  it('reads what the runtime writes', async () => {
    const cov = { 'src/a.ts': { path: 'src/a.ts', hash: 'h1', s: { 0: 3, 1: 0 }, f: { 0: 1 }, b: { 0: [1, 0], 1: [0, 0, 4] }, statementMap: {}, fnMap: {}, branchMap: {} } };
    const meta = { functionName: 'fn', functionVersion: '1', containerId: 'c', startedAt: new Date(0).toISOString(), invocations: 2 };
    const now = new Date();
    const shard = buildShard(meta, takeSnapshot(cov as never), 'map1', now);
    const bytes = encodeShard(new ShardWriter().write(meta, takeSnapshot(cov as never), 'map1', now));
    const d = decodeInput(bytes);
    expect(d.kind).toBe('shard');
    expect(scanShard(gzipSync(JSON.stringify(shard)))).toBeUndefined(); // gzip'd bytes are not JSON
    const text = JSON.stringify(shard);
    expect(scanShard(Buffer.from(text))).toEqual(general(text));
    expect(d).toEqual({ kind: 'shard', ...general(text) });
  });

  it('a repeated path is caught after shards with the same paths were read (their list is reused)', () => {
    const shard = (paths: string[]) => JSON.stringify({
      format: SHARD_FORMAT, version: 2, functionName: 'fn', functionVersion: '1', containerId: 'c', startedAt: 't', updatedAt: 't',
      invocations: 1, mapId: 'm', files: Object.fromEntries(paths.map((p, k) => [p, { s: [k], f: [], b: [] }])),
    });
    const dup = (paths: string[]) => `${shard(paths).slice(0, -2)},${JSON.stringify(paths[0])}:{"s":[9],"f":[],"b":[]}}}`;
    for (const text of [shard(['a', 'b', 'c']), shard(['a', 'b', 'c']), shard(['a', 'b']), shard(['a', 'b', 'c', 'd'])]) {
      expect(scanShard(Buffer.from(text))).toEqual(general(text));
    }
    for (const text of [dup(['a', 'b', 'c']), dup(['a', 'b']), dup(['a', 'b', 'c', 'd']), shard(['a', 'z']).replace('"z":', '"a":')]) {
      expect(scanShard(Buffer.from(text)), text).toBeUndefined();
      expect(decodeInput(Buffer.from(text))).toEqual({ kind: 'shard', ...general(text) });
    }
  });

  it('leaves to the general path what it cannot read exactly, and that path decides as before', () => {
    // A version-1 shard: every file carries its hash.
    const base = JSON.stringify({ ...randomShard(7), version: 1 });
    const doc = JSON.parse(base) as { files: Record<string, Record<string, unknown>> };
    const first = Object.keys(doc.files)[0]!;
    const hash = doc.files[first]!.hash;
    const cases: Record<string, string> = {
      'escaped path': JSON.stringify({ ...doc, files: { 'src\\win.ts': doc.files[first] } }),
      'index-like path (JSON.parse lists it first)': JSON.stringify({ ...doc, files: { ...doc.files, 7: doc.files[first] } }),
      'duplicate path': base.replace(/"files":\{(.*?)\}\}/, (m, inner) => `"files":{${inner}},${JSON.stringify(first)}:${JSON.stringify(doc.files[first])}}`),
      'b before s': JSON.stringify({ ...doc, files: { [first]: { hash, b: [], s: [], f: [] } } }),
      'unknown file key': JSON.stringify({ ...doc, files: { [first]: { hash, s: [], f: [], b: [], extra: 1 } } }),
      'unknown top-level key': JSON.stringify({ ...doc, extra: true }),
      'float counter': JSON.stringify({ ...doc, files: { [first]: { hash, s: [1.5], f: [], b: [] } } }),
      'counter 1.0': base.replace(/"s":\[/, '"s":[1.0,').replace(/,\]/, ']'),
      'exponent counter': base.replace(/"s":\[/, '"s":[1e3,').replace(/,\]/, ']'),
      'negative counter': JSON.stringify({ ...doc, files: { [first]: { hash, s: [-1], f: [], b: [] } } }),
      '16-digit counter': JSON.stringify({ ...doc, files: { [first]: { hash, s: [1234567890123456], f: [], b: [] } } }),
      'another format': JSON.stringify({ ...doc, format: 'lambda-coverage/maps' }),
      'version 4': JSON.stringify({ ...doc, version: 4 }),
      'no mapId': JSON.stringify({ ...doc, mapId: undefined }),
      'v1 without hashes': JSON.stringify({ ...doc, version: 1, files: { [first]: { s: [], f: [], b: [] } } }),
      'truncated': base.slice(0, -5),
      'trailing bytes': `${base} x`,
    };
    for (const [name, text] of Object.entries(cases)) {
      expect(scanShard(Buffer.from(text)), name).toBeUndefined();
      // The general path's verdict stands: the same result as reading the text with JSON.parse.
      let expected: unknown;
      try { expected = { kind: 'shard', ...general(text) }; } catch { expected = 'refused'; }
      const d = decodeInput(Buffer.from(text));
      if (expected === 'refused') expect(d.kind, name).not.toBe('shard');
      else expect(d, name).toEqual(expected);
    }
  });

  it('reads per-test records exactly, and leaves every record it cannot read that way to the general path', () => {
    // src/a.ts: 5 counters in packed order (s0 s1 f0 b0.0 b0.1); lib/b.js: 2.
    const v3 = (over: Record<string, unknown> = {}) => ({
      format: SHARD_FORMAT, version: 3, functionName: 'fn', functionVersion: '1', containerId: 'c', startedAt: 't', updatedAt: 't',
      invocations: 3, mapId: 'm', files: { 'src/a.ts': { s: [3, 1], f: [2], b: [[1, 2]] }, 'lib/b.js': { s: [1], f: [1], b: [] } },
      tests: { 'orders/create': { invocations: 2, files: { 'src/a.ts': [0, 2, 1, 2], 'lib/b.js': [] } }, 'b': { invocations: 1, files: {} } },
      init: { 'lib/b.js': [1, 1], 'src/a.ts': [4, 1] },
      ...over,
    });
    const read = JSON.stringify(v3());
    const fast = scanShard(Buffer.from(read));
    expect(fast).toEqual(general(read));
    expect((fast as { perTest: unknown }).perTest).toEqual({
      tests: [{ name: 'orders/create', invocations: 2 }, { name: 'b', invocations: 1 }],
      spans: Int32Array.from([0, 0, 0, 2, 0, 1, 2, 2, -1, 1, 2, 3, -1, 0, 3, 4]),
      pairs: Float64Array.from([0, 2, 2, 2, 1, 1, 4, 1]),
    });
    const rec = (files: unknown, invocations: unknown = 1) => ({ tests: { t: { invocations, files } } });
    const cases: Record<string, string> = {
      'index-like test name (JSON.parse lists it first)': JSON.stringify(v3({ tests: { b: { invocations: 1, files: {} }, 12: { invocations: 1, files: {} } } })),
      'repeated test name': read.replace('"b":{', '"orders/create":{'),
      'repeated path in a record': read.replace('"lib/b.js":[]', '"src/a.ts":[]'),
      'a test name with a comma': JSON.stringify(v3({ tests: { 'a,b': { invocations: 1, files: {} } } })),
      'a test named init': JSON.stringify(v3({ tests: { init: { invocations: 1, files: {} } } })),
      'an offset past the end': JSON.stringify(v3(rec({ 'lib/b.js': [1, 1, 0, 1] }))),
      'a gap past the end': JSON.stringify(v3({ init: { 'src/a.ts': [5, 1] } })),
      'a file the shard lacks': JSON.stringify(v3(rec({ 'src/c.ts': [0, 1] }))),
      'a count of 0': JSON.stringify(v3(rec({ 'src/a.ts': [0, 0] }))),
      'an odd record': JSON.stringify(v3(rec({ 'src/a.ts': [0, 1, 2] }))),
      'a float count': JSON.stringify(v3(rec({ 'src/a.ts': [0, 1.5] }))),
      '0 invocations': JSON.stringify(v3(rec({}, 0))),
      'no invocations': JSON.stringify(v3({ tests: { t: { files: {} } } })),
      'an unknown record key': JSON.stringify(v3({ tests: { t: { invocations: 1, files: {}, x: 1 } } })),
      'a combined shard\'s functions': JSON.stringify(v3({ tests: { t: { invocations: 1, files: {}, functions: ['api'] } } })),
      'tests in a version-2 shard': JSON.stringify(v3({ version: 2 })),
      'init twice': read.replace('"init":', '"init":{},"init":'),
    };
    for (const [name, text] of Object.entries(cases)) {
      expect(scanShard(Buffer.from(text)), name).toBeUndefined();
      let expected: unknown;
      try { expected = { kind: 'shard', ...general(text) }; } catch { expected = 'refused'; }
      const d = decodeInput(Buffer.from(text));
      if (expected === 'refused') expect(d.kind, name).not.toBe('shard');
      else expect(d, name).toEqual(expected);
    }
    // Records far from the files' order (the scan finds a record's file by its bytes near the last
    // one's, and by its path elsewhere), and a record whose bytes are not its file's but read the same
    // (invalid UTF-8 reads as U+FFFD, as JSON.parse reads it).
    const longList = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`src/f${String(i).padStart(3, '0')}.ts`, { s: [1, 1], f: [1], b: [] }]));
    const far = JSON.stringify(v3({
      files: longList,
      tests: { t: { invocations: 1, files: { 'src/f140.ts': [0, 1], 'src/f002.ts': [1, 1], 'src/f149.ts': [2, 1], 'src/f003.ts': [0, 1] } }, u: { invocations: 1, files: { 'src/f100.ts': [0, 1] } } },
      init: { 'src/f120.ts': [0, 1], 'src/f001.ts': [0, 1] },
    }));
    expect(scanShard(Buffer.from(far))).toEqual(general(far));
    expect((scanShard(Buffer.from(far)) as { perTest: { spans: Int32Array } }).perTest.spans).toEqual(Int32Array.from([0, 140, 0, 1, 0, 2, 1, 2, 0, 149, 2, 3, 0, 3, 3, 4, 1, 100, 4, 5, -1, 120, 5, 6, -1, 1, 6, 7]));
    const bad = Buffer.from(JSON.stringify(v3({ files: { 'src/\u00ff.ts': { s: [1], f: [], b: [] } }, tests: { t: { invocations: 1, files: { 'src/\u00fe.ts': [0, 1] } } }, init: {} })), 'latin1');
    expect(scanShard(bad)).toEqual(general(bad.toString('utf8')));
    expect((scanShard(bad) as { files: { path: string }[] }).files[0]!.path).toBe('src/\ufffd.ts');
    // Over --max-tests: refused by the general path's bound, with its flag.
    const many = JSON.stringify(v3({ tests: Object.fromEntries(['a', 'b', 'c'].map((n) => [n, { invocations: 1, files: {} }])) }));
    const limits = { ...DEFAULT_LIMITS, maxTests: 2 };
    expect(scanShard(Buffer.from(many), limits)).toBeUndefined();
    expect(decodeInput(Buffer.from(many), limits)).toEqual({ kind: 'invalid', reason: expect.stringMatching(/3 tests, over the bound of 2 \(raise it with --max-tests/) });
    expect(scanShard(Buffer.from(many), { ...DEFAULT_LIMITS, maxTests: 3 })).toEqual(general(many));
  });
});
