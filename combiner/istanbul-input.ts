/**
 * Plain Istanbul coverage (coverage-final.json, .nyc_output/*.json, vitest) checked at the boundary:
 * every entry's counters must have exactly the shape of its own maps and be non-negative safe integers.
 * One bad entry refuses the whole input (merge.ts) rather than merging part of it.
 */
import {
  DEFAULT_LIMITS, LIMIT_FLAGS, isSafeName, quotePath, type BranchMapping, type FileMaps, type FnMapping, type InputLimits, type Range,
} from '../contract/format.js';
import { InputRejectedError } from './errors.js';
import { mapsFingerprint } from './fingerprint.js';

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function reject(source: string, key: string, reason: string): never {
  throw new InputRejectedError(source, `entry ${quotePath(key)}: ${reason}`);
}

function isPosition(p: unknown): boolean {
  if (typeof p !== 'object' || p === null) return false;
  const { line, column } = p as { line?: unknown; column?: unknown };
  const isInt = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  return isInt(line) && (column === undefined || column === null || isInt(column));
}

function isRange(r: unknown): r is Range {
  return typeof r === 'object' && r !== null && isPosition((r as Range).start) && isPosition((r as Range).end);
}

/** A branch arm's location: as a range, or empty positions (an `if` without `else`). */
function isArmLocation(r: unknown): boolean {
  if (typeof r !== 'object' || r === null) return false;
  const loose = (p: unknown) => {
    if (typeof p !== 'object' || p === null) return false;
    const { line, column } = p as { line?: unknown; column?: unknown };
    const ok = (n: unknown) => n === undefined || n === null || (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0);
    return ok(line) && ok(column);
  };
  return loose((r as Range).start) && loose((r as Range).end);
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

export function validateFileCoverage(key: string, value: unknown, source: string, limits: InputLimits = DEFAULT_LIMITS): { path: string; hash: string; maps: FileMaps; s: number[]; f: number[]; b: number[][] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) reject(source, key, 'not a file coverage object');
  const fc = value as Record<string, unknown>;
  const path = fc.path === undefined ? key : fc.path;
  if (typeof path !== 'string') reject(source, key, '"path" is not a string');
  // Absolute paths are normal here (nyc, Jest); where they land is decided when inputs are merged.
  if (!isSafeName(path, limits.maxPathLength)) {
    reject(source, key, `"path" is over ${limits.maxPathLength} characters (${LIMIT_FLAGS.maxPathLength}) or contains a control or markup character`);
  }
  const statements = indexed(fc.statementMap, 'statementMap', source, key);
  const fns = indexed(fc.fnMap, 'fnMap', source, key);
  const branches = indexed(fc.branchMap, 'branchMap', source, key);
  statements.forEach((r, i) => { if (!isRange(r)) reject(source, key, `statementMap[${i}] is not a location`); });
  const fnMap: Record<string, FnMapping> = {};
  fns.forEach((m, i) => {
    const fm = m as Partial<FnMapping> | null;
    if (!fm || !isRange(fm.loc)) reject(source, key, `fnMap[${i}] has no "loc"`);
    if (fm.name !== undefined && !isSafeName(fm.name, 1024)) reject(source, key, `fnMap[${i}] has a name that is not a printable string of at most 1,024 characters`);
    fnMap[i] = { name: typeof fm.name === 'string' ? fm.name : `(anonymous_${i})`, decl: isRange(fm.decl) ? fm.decl : fm.loc, loc: fm.loc, line: typeof fm.line === 'number' ? fm.line : fm.loc.start.line };
  });
  branches.forEach((m, i) => {
    const bm = m as Partial<BranchMapping> | null;
    if (!bm || !Array.isArray(bm.locations)) reject(source, key, `branchMap[${i}] has no "locations"`);
    if (!bm.locations.every(isArmLocation)) reject(source, key, `branchMap[${i}] has a location that is not a range of line and column numbers`);
    if (bm.type !== undefined && !isSafeName(bm.type, 64)) reject(source, key, `branchMap[${i}] has a type that is not a short printable string`);
  });
  const n = statements.length + fns.length + branches.reduce((k: number, m) => k + (m as BranchMapping).locations.length, 0);
  if (n > limits.maxCounters) reject(source, key, `${n} counters, over the bound of ${limits.maxCounters} (raise it with ${LIMIT_FLAGS.maxCounters} if this input is genuine)`);
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
