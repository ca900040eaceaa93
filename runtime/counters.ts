/**
 * The live counters (`globalThis.__coverage__`, lean or full Istanbul objects) read and copied. Import-
 * light: the layer copies them when a container's first invocation starts (lifecycle.ts), before the
 * collector and the contract's codec are loaded, so that what moved while the module loaded (the init
 * phase of per-test coverage) is told apart from what the first invocation moved.
 */
import type { FileMaps } from '../contract/format.js';
import { COVERAGE_GLOBAL } from './coverage-global.js';

/** One entry of `__coverage__`: lean (counters only) or a full Istanbul FileCoverage object. */
export interface LiveFileCoverage {
  path?: string;
  hash?: string;
  s: Record<string, number>;
  f: Record<string, number>;
  b: Record<string, number[]>;
  statementMap?: FileMaps['statementMap'];
  fnMap?: FileMaps['fnMap'];
  branchMap?: FileMaps['branchMap'];
}

export type LiveCoverage = Record<string, LiveFileCoverage>;

/** One file's counters as arrays (the contract's FileCounters, structurally). */
export interface CopiedCounters {
  hash?: string;
  s: number[];
  f: number[];
  b: number[][];
}

export function readLiveCoverage(scope: object = globalThis): LiveCoverage | undefined {
  const cov = (scope as Record<string, unknown>)[COVERAGE_GLOBAL];
  return typeof cov === 'object' && cov !== null ? (cov as LiveCoverage) : undefined;
}

/**
 * Copies one file's counters (they keep counting after we return) and sums them. Integer-like keys
 * iterate in ascending order by the language spec, so `Object.values` lines up with Istanbul's "0",
 * "1", … keys.
 */
export function copyFile(fc: LiveFileCoverage, hash: string): { counters: CopiedCounters; total: number } {
  let total = 0;
  const s = Object.values(fc.s);
  const f = Object.values(fc.f);
  const bv = Object.values(fc.b);
  const b: number[][] = new Array(bv.length);
  for (let i = 0; i < s.length; i++) total += s[i]!;
  for (let i = 0; i < f.length; i++) total += f[i]!;
  for (let i = 0; i < bv.length; i++) {
    const arms = bv[i]!.slice();
    for (let j = 0; j < arms.length; j++) total += arms[j]!;
    b[i] = arms;
  }
  return { counters: { hash, s, f, b }, total };
}

/** A snapshot-shaped copy of every file that looks like Istanbul coverage (snapshot.ts's Snapshot). */
export function copyCounters(cov: LiveCoverage): { files: Record<string, CopiedCounters>; total: number; fileCount: number; invalid: string[] } {
  const files: Record<string, CopiedCounters> = {};
  const invalid: string[] = [];
  let total = 0;
  let fileCount = 0;
  for (const key in cov) {
    const fc = cov[key];
    if (typeof fc !== 'object' || fc === null || typeof fc.s !== 'object' || typeof fc.f !== 'object' || typeof fc.b !== 'object' || typeof fc.hash !== 'string') {
      invalid.push(key);
      continue;
    }
    const copy = copyFile(fc, fc.hash);
    files[key] = copy.counters;
    total += copy.total;
    fileCount++;
  }
  return { files, total, fileCount, invalid };
}
