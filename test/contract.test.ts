import { describe, expect, it } from 'vitest';
import {
  SHARD_FORMAT, SHARD_VERSION, ShardFormatError, arrayToCounters, checkCountersMatchMaps, computeMapId,
  countersToArray, decodeJsonGz, encodeJsonGz, keySegment, mapsKey, normalizePrefix, parseShard, shardKey,
  type FileMaps, type Shard,
} from '../contract/format.js';

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
    expect(() => parseShard({ ...shard(), version: 3 })).toThrow(/version 3 is not supported \(this lambda-coverage reads versions 1, 2\).*upgrade/);
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
