/**
 * Plain Istanbul coverage (coverage-final.json, .nyc_output/*.json, vitest) checked at the boundary:
 * every entry's counters must have exactly the shape of its own maps and be non-negative safe integers.
 * One bad entry refuses the whole input (merge.ts) rather than merging part of it.
 */
import type { BranchMapping, FileMaps, FnMapping, Range } from '../runtime/shard-format.js';
import { InputRejectedError } from './errors.js';
import { mapsFingerprint } from './fingerprint.js';

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function reject(source: string, key: string, reason: string): never {
  throw new InputRejectedError(source, `entry ${JSON.stringify(key)}: ${reason}`);
}

function isPosition(p: unknown): boolean {
  if (typeof p !== 'object' || p === null) return false;
  const { line, column } = p as { line?: unknown; column?: unknown };
  return typeof line === 'number' && Number.isFinite(line) && (column === undefined || column === null || typeof column === 'number');
}

function isRange(r: unknown): r is Range {
  return typeof r === 'object' && r !== null && isPosition((r as Range).start) && isPosition((r as Range).end);
}

/** Istanbul's `{ "0": …, "1": … }` objects, checked to be exactly indices 0…n-1; returns values by index. */
function indexed(obj: unknown, name: string, source: string, key: string): unknown[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) reject(source, key, `"${name}" is missing or not an object`);
  const keys = Object.keys(obj);
  const out = new Array<unknown>(keys.length);
  for (const k of keys) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= keys.length || String(i) !== k) {
      reject(source, key, `"${name}" has key ${JSON.stringify(k)}; expected indices 0…${keys.length - 1}`);
    }
    out[i] = (obj as Record<string, unknown>)[k];
  }
  return out;
}

function counters(values: unknown[], name: string, source: string, key: string): number[] {
  values.forEach((n, i) => {
    if (!isCount(n)) reject(source, key, `${name}[${i}] is ${JSON.stringify(n)}; counters must be non-negative integers`);
  });
  return values as number[];
}

export function validateFileCoverage(key: string, value: unknown, source: string): { path: string; hash: string; maps: FileMaps; s: number[]; f: number[]; b: number[][] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) reject(source, key, 'not a file coverage object');
  const fc = value as Record<string, unknown>;
  const path = fc.path === undefined ? key : fc.path;
  if (typeof path !== 'string') reject(source, key, '"path" is not a string');
  const statements = indexed(fc.statementMap, 'statementMap', source, key);
  const fns = indexed(fc.fnMap, 'fnMap', source, key);
  const branches = indexed(fc.branchMap, 'branchMap', source, key);
  statements.forEach((r, i) => { if (!isRange(r)) reject(source, key, `statementMap[${i}] is not a location`); });
  const fnMap: Record<string, FnMapping> = {};
  fns.forEach((m, i) => {
    const fm = m as Partial<FnMapping> | null;
    if (!fm || !isRange(fm.loc)) reject(source, key, `fnMap[${i}] has no "loc"`);
    fnMap[i] = { name: typeof fm.name === 'string' ? fm.name : `(anonymous_${i})`, decl: isRange(fm.decl) ? fm.decl : fm.loc, loc: fm.loc, line: typeof fm.line === 'number' ? fm.line : fm.loc.start.line };
  });
  branches.forEach((m, i) => {
    const bm = m as Partial<BranchMapping> | null;
    if (!bm || !Array.isArray(bm.locations)) reject(source, key, `branchMap[${i}] has no "locations"`);
  });
  const s = counters(indexed(fc.s, 's', source, key), 's', source, key);
  const f = counters(indexed(fc.f, 'f', source, key), 'f', source, key);
  const bRaw = indexed(fc.b, 'b', source, key);
  if (s.length !== statements.length) reject(source, key, `has ${s.length} statement counters, its statementMap has ${statements.length}`);
  if (f.length !== fns.length) reject(source, key, `has ${f.length} function counters, its fnMap has ${fns.length}`);
  if (bRaw.length !== branches.length) reject(source, key, `has ${bRaw.length} branch counters, its branchMap has ${branches.length}`);
  const b = bRaw.map((arms, i) => {
    const want = (branches[i] as BranchMapping).locations.length;
    if (!Array.isArray(arms)) reject(source, key, `b[${i}] is not an array`);
    if (arms.length !== want) reject(source, key, `branch ${i} has ${arms.length} arms, its branchMap has ${want}`);
    return counters(arms, `b[${i}]`, source, key);
  });
  const maps: FileMaps = {
    path, hash: '',
    statementMap: fc.statementMap as Record<string, Range>,
    fnMap,
    branchMap: fc.branchMap as Record<string, BranchMapping>,
  };
  // Files from tools that write no hash get one from their maps, so equal maps still merge.
  maps.hash = typeof fc.hash === 'string' && fc.hash !== '' ? fc.hash : mapsFingerprint(maps);
  return { path, hash: maps.hash, maps, s, f, b };
}
