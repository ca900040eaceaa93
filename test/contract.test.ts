import { describe, expect, it } from 'vitest';
import { packShard } from '../contract/decode.js';
import {
  DEFAULT_LIMITS, SHARD_FORMAT, SHARD_VERSION, ShardFormatError, encodeSparse, readSparse, testNameProblem, arrayToCounters, checkCountersMatchMaps, computeMapId,
  countersToArray, decodeJsonGz, encodeJsonGz, keySegment, mapsKey, normalizePrefix, parseShard, shardKey,
  type FileMaps, type Shard,
} from '../contract/format.js';
import { readManifestIndex, readManifestLines, renderManifest } from '../contract/manifest.js';

const shard = (): Shard => ({
  format: SHARD_FORMAT, version: SHARD_VERSION, functionName: 'fn', functionVersion: '$LATEST',
  containerId: 'c1', startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z',
  invocations: 2, mapId: 'm', files: { 'src/a.ts': { hash: 'h', s: [1, 0], f: [1], b: [[1, 0]] } },
});

describe('shard format', () => {
  it('names keys from the layout with safe segments', () => {
    expect(normalizePrefix('coverage')).toBe('coverage/');
    expect(normalizePrefix('/')).toBe('');
    expect(shardKey('coverage/', 'my-fn', 'abc')).toBe('coverage/my-fn/shards/abc.json.gz');
    expect(mapsKey('', 'my-fn', 'm1')).toBe('my-fn/maps/m1.json.gz');
    const seg = keySegment('../../etc');
    expect(seg).not.toContain('/');
    expect(seg.startsWith('.')).toBe(false);
  });

  it('round-trips a shard through gzip and validates it', () => {
    const back = parseShard(decodeJsonGz(encodeJsonGz(shard()), 'k'));
    expect(back).toEqual(shard());
  });

  it('rejects an unknown version with a message saying what to do', () => {
    expect(() => parseShard({ ...shard(), version: 4 as 3 })).toThrow(/version 4 is not supported \(this lambda-coverage reads versions 1, 2, 3\).*upgrade/);
  });

  it('lets a version-2 shard leave the hashes to its maps document, and only then', () => {
    const noHash = (s: Shard): Shard => ({ ...s, files: { 'src/a.ts': { s: [1, 0], f: [1], b: [[1, 0]] } } });
    expect(parseShard(noHash(shard())).files['src/a.ts']).toEqual({ s: [1, 0], f: [1], b: [[1, 0]] });
    // Without a maps document the hash is what finds the file's maps in a manifest.
    expect(() => parseShard(noHash({ ...shard(), mapId: null }))).toThrow(/file "src\/a\.ts": missing "hash"/);
    // Version 1 always carried it.
    expect(() => parseShard(noHash({ ...shard(), version: 1 }))).toThrow(/missing "hash"/);
    expect(parseShard({ ...shard(), version: 1 }).version).toBe(1);
    const empty = shard();
    empty.files['src/a.ts']!.hash = '';
    expect(() => parseShard(empty)).toThrow(/missing "hash"/);
  });

  it('rejects negative, fractional and null counters', () => {
    for (const s of [[-1, 0], [0.5, 0], [null, 0]]) {
      const bad = shard();
      bad.files['src/a.ts']!.s = s as number[];
      expect(() => parseShard(bad)).toThrow(ShardFormatError);
    }
  });

  it('reports truncated gzip and JSON', () => {
    const bytes = encodeJsonGz(shard());
    expect(() => decodeJsonGz(bytes.subarray(0, bytes.length - 10), 'k')).toThrow(/k: not valid gzip/);
    expect(() => decodeJsonGz(Buffer.from('{"a":'), 'k')).toThrow(/k: not valid JSON.*truncated/);
  });

  it('map ids depend on content only, not order', () => {
    const a = computeMapId([{ path: 'a', hash: '1' }, { path: 'b', hash: '2' }]);
    expect(computeMapId([{ path: 'b', hash: '2' }, { path: 'a', hash: '1' }])).toBe(a);
    expect(computeMapId([{ path: 'b', hash: '3' }, { path: 'a', hash: '1' }])).not.toBe(a);
  });

  it('converts Istanbul counter objects to arrays and back', () => {
    const obj = { 0: 3, 1: 0, 2: 7 };
    expect(countersToArray(obj)).toEqual([3, 0, 7]);
    expect(arrayToCounters([3, 0, 7])).toEqual({ 0: 3, 1: 0, 2: 7 });
  });

  it('checks counters against their maps', () => {
    const loc = { start: { line: 1, column: 0 }, end: { line: 1, column: 5 } };
    const maps: FileMaps = {
      path: 'src/a.ts', hash: 'h', statementMap: { 0: loc, 1: loc },
      fnMap: { 0: { name: 'f', decl: loc, loc, line: 1 } },
      branchMap: { 0: { loc, type: 'if', locations: [loc, loc], line: 1 } },
    };
    const c = shard().files['src/a.ts']!;
    expect(() => checkCountersMatchMaps(c, maps, 'x')).not.toThrow();
    expect(() => checkCountersMatchMaps({ ...c, s: [1] }, maps, 'x')).toThrow(/1 statement counters, its map has 2/);
    expect(() => checkCountersMatchMaps({ ...c, b: [[1]] }, maps, 'x')).toThrow(/branch 0 has 1 arms/);
  });
});

describe('per-test records (shard version 3)', () => {
  const v3 = (): Shard => ({
    ...shard(), version: 3,
    // src/a.ts has 5 counters in packed order: s0 s1 f0 b0.0 b0.1
    tests: { 'orders/create': { invocations: 2, files: { 'src/a.ts': encodeSparse([0, 2, 3], [2, 2, 1]) } } },
    init: { 'src/a.ts': encodeSparse([0], [1]) },
  });

  it('encodes ascending offsets as gaps and reads them back', () => {
    expect(encodeSparse([0, 2, 3, 9], [5, 1, 1, 2])).toEqual([0, 5, 1, 1, 0, 1, 5, 2]);
    const seen: number[][] = [];
    expect(readSparse([0, 5, 1, 1, 0, 1, 5, 2], 10, (o, c) => seen.push([o, c]))).toBeUndefined();
    expect(seen).toEqual([[0, 5], [2, 1], [3, 1], [9, 2]]);
    expect(readSparse([0, 5, 1, 1, 0, 1, 5, 2], 9)).toMatch(/counter 9, past the file's 9 counters/);
    expect(readSparse([0, 0], 3)).toMatch(/count 0/);
    expect(readSparse([-1, 1], 3)).toMatch(/gap -1/);
    expect(readSparse([0], 3)).toMatch(/pairs/);
  });

  it('round-trips a version-3 shard and packs its records with absolute offsets', () => {
    const back = parseShard(decodeJsonGz(encodeJsonGz(v3()), 'k'));
    expect(back).toEqual(v3());
    const packed = packShard(back);
    expect(packed.perTest!.tests).toEqual([{ name: 'orders/create', invocations: 2 }]);
    expect(packed.perTest!.spans).toEqual(Int32Array.from([0, 0, 0, 3, -1, 0, 3, 4]));
    expect([...packed.perTest!.pairs]).toEqual([0, 2, 2, 2, 3, 1, 0, 1]);
    expect(packShard(shard()).perTest).toBeUndefined();
  });

  it('refuses test names that could break a report, records of files the shard lacks, and too many tests', () => {
    for (const name of ['a,b', '<b>', 'x\ny', ' lead', 'init', 'untagged', 'a'.repeat(129), 'a|b']) {
      expect(testNameProblem(name), name).toBeDefined();
      const bad = v3();
      bad.tests = { [name]: bad.tests!['orders/create']! };
      expect(() => parseShard(bad), name).toThrow(/test name/);
    }
    for (const name of ['checkout/pays with card', 'orders:create (VIP)', 'a-b_c.d#1']) expect(testNameProblem(name)).toBeUndefined();
    const other = v3();
    other.tests!['orders/create']!.files = { 'src/other.ts': [0, 1] };
    expect(() => parseShard(other)).toThrow(/"src\/other\.ts", which the shard's "files" does not carry/);
    const past = v3();
    past.init = { 'src/a.ts': [5, 1] };
    expect(() => parseShard(past)).toThrow(/"init".*past the file's 5 counters/);
    const zero = v3();
    zero.tests!['orders/create']!.invocations = 0;
    expect(() => parseShard(zero)).toThrow(/"invocations" must be a positive integer/);
    const many = v3();
    many.tests = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`t${i}`, { invocations: 1, files: {} }]));
    expect(() => parseShard(many, 'shard', { ...DEFAULT_LIMITS, maxTests: 2 })).toThrow(/3 tests, over the bound of 2 \(raise it with --max-tests/);
    expect(() => parseShard({ ...v3(), version: 2 })).toThrow(/version 3 shards only/);
  });
});

describe('the manifest line layout, read as bytes', () => {
  const maps = (path: string, hash: string) => JSON.stringify({ path, hash, statementMap: { 0: { start: { line: 1, column: 0 }, end: { line: 1, column: 9 } } }, fnMap: {}, branchMap: {} });
  const keys = ['src/a.ts', 'src/"quoted" \\ back.ts', 'src/ünïcode-✓.ts', 'src/hash-like ,"hash":" in name.ts'];
  const entries = new Map(keys.map((k, i) => [k, maps(k, `h${i}"\\`)]));
  const text = renderManifest(entries, 'test');

  it('finds every entry\'s hash and the exact bytes of its maps, as the text reader does', () => {
    const bytes = Buffer.from(text);
    const index = readManifestIndex(bytes)!;
    const lines = readManifestLines(text)!;
    expect([...index.keys()].sort()).toEqual([...lines.keys()].sort());
    for (const [k, span] of index) {
      expect(bytes.toString('utf8', span.start, span.end)).toBe(lines.get(k));
      expect(span.hash).toBe(JSON.parse(lines.get(k)!).hash);
    }
  });

  it('is undefined for what is not the layout (the caller parses it then)', () => {
    const variants = {
      'pretty-printed': JSON.stringify(JSON.parse(text), null, 1),
      'no entries': renderManifest(new Map(), 'test'),
      'maps not starting with path and hash': text.replace('{"path":"src/a.ts","hash":', '{"hash":'),
      'a trailing comma on the last line': text.replace(/\}\n\}\}\n$/, '},\n}}\n'),
      'cut off': text.slice(0, -2),
    };
    for (const [what, t] of Object.entries(variants)) expect(readManifestIndex(Buffer.from(t)), what).toBeUndefined();
  });
});
