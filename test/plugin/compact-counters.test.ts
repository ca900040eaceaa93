// Lean mode's compact increments: the rewrite and the source-map column shift, as pure functions.
import { decodedMappings, TraceMap } from '@jridgewell/trace-mapping';
import { describe, expect, it } from 'vitest';
import { compactIncrements, decodeVlq, encodeVlq, shiftMappings } from '../../plugin/compact-counters.js';

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
