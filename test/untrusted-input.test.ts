// The contract's rules for what a reader accepts from S3 or a directory (untrusted input): paths stay
// relative POSIX paths inside the project, every input is bounded before it is inflated or parsed, and
// the maps a report renders are numbers and printable names. Both shard readers (the one-pass scan and
// the general path) refuse the same inputs.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeInput, type PackedShard } from '../contract/decode.js';
import { CoverageMerger, InputRejectedError } from '../combiner/merge.js';
import { scanShard } from '../contract/scan.js';
import {
  DEFAULT_LIMITS, MAPS_FORMAT, SHARD_FORMAT, ShardFormatError, parseManifest, parseMaps, parseShard, projectPathProblem,
  type MapsDocument,
} from '../contract/format.js';

const loc = { start: { line: 1, column: 0 }, end: { line: 1, column: 5 } };
const fileMaps = (hash = 'h1') => ({
  hash, statementMap: { 0: loc, 1: loc }, fnMap: { 0: { name: 'f', decl: loc, loc, line: 1 } },
  branchMap: { 0: { loc, type: 'if', locations: [loc, { start: {}, end: {} }], line: 1 } },
});
const shardOf = (files: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  format: SHARD_FORMAT, version: 2, functionName: 'fn', functionVersion: '1', containerId: 'c1',
  startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z', invocations: 1, mapId: 'm1', files, ...extra,
});
const counters = { s: [1, 0], f: [1], b: [[1, 0]] };

const GOOD_PATHS = ['src/a.ts', 'a', 'src/déjà vu/ü.ts', 'src/(q) #1.ts', 'lib/x y.js', 'src/中文.ts', 'src/constructor.ts', 'constructor'];
const BAD_PATHS = [
  '/etc/passwd', 'C:/x.ts', 'c:x.ts', 'src\\a.ts', '../x.ts', 'src/../../x.ts', './a.ts', 'a//b.ts', 'src/', '', 'src/.',
  'a\u0000b.ts', 'a\nSF:/etc/passwd', 'a\u001b[31m.ts', 'a\u0085.ts', '<img src=x onerror=alert(1)>.ts', 'a"><script>.ts',
  'a\u202eb.ts', 'a\u2028b.ts', 'a\ud800.ts', '__proto__', 'src/__proto__/x.ts', 'x'.repeat(1025),
];

describe('paths of the contract', () => {
  it('accepts relative POSIX paths inside the project and refuses everything else, saying why', () => {
    for (const p of GOOD_PATHS) expect(projectPathProblem(p), p).toBeUndefined();
    for (const p of BAD_PATHS) expect(projectPathProblem(p), JSON.stringify(p)).toMatch(/./);
    expect(projectPathProblem('/etc/passwd')).toMatch(/absolute/);
    expect(projectPathProblem('x'.repeat(1025))).toMatch(/over the bound of 1024 \(raise it with --max-path-length\)/);
    expect(projectPathProblem('x'.repeat(1025), 2000)).toBeUndefined();
  });

  it('refuses a shard, maps document or manifest naming such a path, on both shard readers', () => {
    for (const p of BAD_PATHS) {
      const doc = shardOf({ 'src/ok.ts': counters, [p]: counters });
      const text = Buffer.from(JSON.stringify(doc));
      expect(scanShard(text), JSON.stringify(p)).toBeUndefined();
      expect(() => parseShard(doc), JSON.stringify(p)).toThrow(ShardFormatError);
      const d = decodeInput(text);
      expect(d.kind, JSON.stringify(p)).toBe('invalid');
      const maps = { format: MAPS_FORMAT, version: 1, mapId: 'm1', files: { [p]: fileMaps() } };
      expect(() => parseMaps(maps), JSON.stringify(p)).toThrow(/file path [\s\S]* (is|has|contains)/);
      expect(() => parseManifest({ ...maps, format: 'lambda-coverage/manifest', createdAt: 'x', generator: 'g' })).toThrow(ShardFormatError);
    }
    for (const p of GOOD_PATHS) expect((scanShard(Buffer.from(JSON.stringify(shardOf({ [p]: counters })))) as PackedShard).files[0]?.path).toBe(p);
  });

  it('a shard naming a file its maps document lacks, by a name objects inherit, is refused (not a crash)', () => {
    const maps = parseMaps({ format: MAPS_FORMAT, version: 1, mapId: 'm1', files: { 'src/a.ts': fileMaps() } }) as MapsDocument;
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const merger = new CoverageMerger();
      const shard = parseShard(shardOf({ [name]: counters }));
      expect(() => merger.addShard(shard, maps, { source: 's', time: 0 }), name).toThrow(InputRejectedError);
    }
  });
});

describe('bounds per input', () => {
  it('stops inflating a gzip bomb at the bound and names the flag, whatever the stored size', () => {
    // 64 MiB of zeros is ~64 KB gzip'd; a real bomb is the same at any size.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const d = decodeInput(bomb);
    expect(d).toEqual({ kind: 'invalid', reason: expect.stringMatching(/inflates further, over the bound of 32 MiB \(raise it with --max-shard-mb/) });
    const small = decodeInput(gzipSync(JSON.stringify(shardOf({ 'src/a.ts': counters }))), { ...DEFAULT_LIMITS, maxInputBytes: 100 });
    expect(small).toEqual({ kind: 'invalid', reason: expect.stringMatching(/--max-shard-mb/) });
  });

  it('refuses more files than --max-files and more counters than --max-counters, on both readers', () => {
    const files: Record<string, unknown> = {};
    for (let i = 0; i < 11; i++) files[`src/f${i}.ts`] = counters;
    const limits = { ...DEFAULT_LIMITS, maxFiles: 10, maxCounters: 5 };
    const many = Buffer.from(JSON.stringify(shardOf(files)));
    // The scan stops at the bound (no parse of the rest); the general path says the same.
    expect(scanShard(many, limits)).toEqual({ refused: expect.stringMatching(/more files, over the bound of 10 \(raise it with --max-files/) });
    expect(decodeInput(many, limits)).toEqual({ kind: 'invalid', reason: expect.stringMatching(/more files, over the bound of 10 \(raise it with --max-files/) });
    expect(() => parseShard(JSON.parse(many.toString()), 'shard', limits)).toThrow(/11 files, over the bound of 10/);
    expect(decodeInput(many, { ...limits, maxFiles: 11 }).kind).toBe('shard');
    const big = Buffer.from(JSON.stringify(shardOf({ 'src/a.ts': { s: [1, 2, 3, 4], f: [1], b: [[1]] } })));
    expect(decodeInput(big, limits)).toEqual({ kind: 'invalid', reason: expect.stringMatching(/file "src\/a\.ts": more counters, over the bound of 5 \(raise it with --max-counters/) });
    expect(() => parseShard(JSON.parse(big.toString()), 'shard', limits)).toThrow(/6 counters, over the bound of 5/);
    // A file of millions of counters stops the scan at the bound, before it has cost their memory.
    const huge = Buffer.from(`${JSON.stringify(shardOf({})).slice(0, -3)}{"a.ts":{"s":[${'0,'.repeat(3_000_000)}0],"f":[],"b":[]}}}`);
    expect(decodeInput(huge)).toEqual({ kind: 'invalid', reason: expect.stringMatching(/file "a\.ts": more counters, over the bound of 1000000/) });
    const maps = { format: MAPS_FORMAT, version: 1, mapId: 'm1', files: { 'src/a.ts': fileMaps() } };
    expect(() => parseMaps(maps, 'maps', { ...limits, maxCounters: 4 })).toThrow(/over the bound of 4 \(raise it with --max-counters/);
    expect(() => parseMaps(maps, 'maps', { ...limits, maxFiles: 0 })).toThrow(/--max-files/);
  });
});

describe('JSON that would cost more than its bytes', () => {
  it('refuses nesting deeper than any coverage document before parsing it', () => {
    const deep = Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(decodeInput(gzipSync(deep))).toEqual({ kind: 'invalid', reason: expect.stringMatching(/nested deeper than 64 levels/) });
    // Brackets inside strings are text, not nesting.
    const text = Buffer.from(JSON.stringify({ a: '['.repeat(1000) }));
    expect(decodeInput(text).kind).toBe('istanbul');
  });
});

describe('maps a report renders', () => {
  const withFile = (f: unknown) => ({ format: MAPS_FORMAT, version: 1, mapId: 'm1', files: { 'src/a.ts': f } });
  it('accepts the maps istanbul-lib-instrument writes (an implicit else has empty positions)', () => {
    expect(() => parseMaps(withFile(fileMaps()))).not.toThrow();
  });

  it('refuses locations that are not numbers, names that break a report, and counters that are not indices', () => {
    const bad: [string, (m: ReturnType<typeof fileMaps>) => unknown][] = [
      ['a string line', (m) => { (m.statementMap[0] as unknown) = { start: { line: '<script>', column: 0 }, end: loc.end }; }],
      ['a negative column', (m) => { (m.statementMap[1] as unknown) = { start: { line: 1, column: -1 }, end: loc.end }; }],
      ['a fractional line', (m) => { (m.statementMap[1] as unknown) = { start: { line: 1.5, column: 0 }, end: loc.end }; }],
      ['no end', (m) => { (m.statementMap[1] as unknown) = { start: loc.start }; }],
      ['a function name with a newline (an lcov record)', (m) => { m.fnMap[0].name = 'f\nSF:/etc/passwd'; }],
      ['a function name that is not a string', (m) => { (m.fnMap[0] as { name: unknown }).name = { toString: 1 }; }],
      ['a branch type with markup', (m) => { m.branchMap[0].type = '<b>'; }],
      ['a branch location that is not a range', (m) => { (m.branchMap[0].locations as unknown[]).push('x'); }],
      ['a gap in the indices', (m) => { (m.statementMap as Record<string, unknown>)[5] = loc; }],
      ['a __proto__ key', (m) => { Object.defineProperty(m.statementMap, '__proto__', { value: loc, enumerable: true }); }],
      ['a hash with markup', (m) => { m.hash = '<x>'; }],
    ];
    for (const [what, change] of bad) {
      const m = fileMaps();
      change(m);
      expect(() => parseMaps(JSON.parse(JSON.stringify(withFile(m)))), what).toThrow(ShardFormatError);
    }
  });
});
