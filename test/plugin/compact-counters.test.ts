// Lean mode's compact increments: the rewrite and the source-map column shift, as pure functions.
import { decodedMappings, TraceMap } from '@jridgewell/trace-mapping';
import { describe, expect, it } from 'vitest';
import { compactIncrements, decodeVlq, encodeVlq, shiftMappings, shortName } from '../../plugin/compact-counters.js';

describe('compactIncrements', () => {
  it('rewrites only the file\'s own counter bumps, several per line', () => {
    const code = [
      'cov_abc().s[0]++;',
      'return (cov_abc().b[1][0]++, x) ?? (cov_abc().b[1][1]++, "cov_abc().s[9]++");',
      'cov_other().f[2]++;',
    ].join('\n');
    const out = compactIncrements(code, 'cov_abc');
    expect(out.code.split('\n')).toEqual([
      'cov_abc(0,0);',
      // A string with the same text is rewritten too: the name is a hash of the path, user code has none.
      'return (cov_abc(2,1,0), x) ?? (cov_abc(2,1,1), "cov_abc(0,9)");',
      'cov_other().f[2]++;',
    ]);
    expect(out.edits.get(1)).toEqual([
      { start: 8, end: 27, length: 14 },
      { start: 36, end: 55, length: 14 },
      { start: 58, end: 74, length: 12 },
    ]);
    expect(out.edits.has(2)).toBe(false);
  });

  it('renames the coverage function, everywhere, to a short name the file does not contain', () => {
    const code = ['function cov_abc(k,i,j){return(cov_abc=g())(k,i,j)}', 'cov_abc();', 'f(cov_abc().s[0]++, cov_abcd);'].join('\n');
    const out = compactIncrements(code, 'cov_abc', 'cov$');
    expect(out.code.split('\n')).toEqual(['function cov$(k,i,j){return(cov$=g())(k,i,j)}', 'cov$();', 'f(cov$(0,0), cov_abcd);']);
    expect(out.edits.get(1)).toEqual([{ start: 0, end: 7, length: 4 }]);
    expect(shortName('const x = 1;', 'cov_abc')).toBe('cov$');
    expect(shortName('const cov$ = 1, cov$1 = 2;', 'cov_abc')).toBe('cov$2');
    expect(shortName(Array.from({ length: 10 }, (_, n) => `cov$${n}`).join(' ') + ' cov$', 'cov_abc')).toBe('cov_abc');
  });
});

describe('source map VLQ', () => {
  it('round-trips segments with negative and large values', () => {
    for (const fields of [[0], [0, 0, 0, 0], [5, -1, 12, -300], [123456, 0, -7, 31, 2]]) {
      expect(decodeVlq(encodeVlq(fields))).toEqual(fields);
    }
    expect(encodeVlq([0, 0, 0, 0])).toBe('AAAA');
    expect(() => decodeVlq('A*')).toThrow(/invalid base64 VLQ/);
  });

  it('shifts the generated columns after each edit and leaves other lines alone', () => {
    // line 0: segments at columns 0, 20, 40 -> original (0,0), (0,5), (0,9); line 1: one segment.
    const mappings = `${[encodeVlq([0, 0, 0, 0]), encodeVlq([20, 0, 0, 5]), encodeVlq([20, 0, 0, 4])].join(',')};${encodeVlq([3, 0, 1, 0])}`;
    const edits = new Map([[0, [{ start: 5, end: 15, length: 4 }, { start: 25, end: 35, length: 5 }]]]);
    const shifted = shiftMappings(mappings, edits);
    const map = new TraceMap({ version: 3, sources: ['a.ts'], names: [], mappings: shifted });
    expect(decodedMappings(map)).toEqual([
      [[0, 0, 0, 0], [14, 0, 0, 5], [29, 0, 0, 9]],
      [[3, 0, 1, 9]], // source columns are relative across lines: unchanged
    ]);
  });
});
