/**
 * The merger's accumulators: one per file version, typed arrays summed by index and saturating at
 * Number.MAX_SAFE_INTEGER, and what is read off them (a merged file, Istanbul coverage objects). Pure.
 */
import libCoverage, { type CoverageMap, type FileCoverageData } from 'istanbul-lib-coverage';
import { arrayToCounters, type FileMaps } from '../contract/format.js';

export interface MergedFile {
  path: string;
  hash: string;
  maps: FileMaps;
  s: Float64Array;
  f: Float64Array;
  b: number[][];
  /** Newest time of any input counted here (ms). */
  time: number;
  /** When this version was first seen: the earliest start of any input counted here (ms). */
  since: number;
  inputs: number;
  /**
   * Per named test (and `init`, a name no test has), the counters it moved in this version, packed
   * like s, f and b one after the other. Absent when no input carried per-test records for the file.
   */
  perTest?: ReadonlyMap<string, Float64Array>;
}

/** The running sums of one file version (path, group and static maps). */
export interface Version {
  path: string;
  group: string;
  fingerprint: string;
  hashes: Set<string>;
  maps: FileMaps;
  s: Float64Array;
  f: Float64Array;
  b: Float64Array;
  /** b[i] is b.subarray(bStart[i], bStart[i+1]). */
  bStart: Uint32Array;
  time: number;
  since: number;
  inputs: number;
  saturated: boolean;
  /**
   * See MergedFile.perTest, by the merger's test ids (names are looked up once per shard, not once per
   * record): summed here, so newest-wins keeps or drops them with the totals.
   */
  perTest: PerTestRows | undefined;
}

/**
 * The per-test counters of every version of one merge, in one buffer that grows: each version and
 * test that moved any of them has a row of the version's length there, packed like s, f and b, in the
 * order they first came. One buffer rather than an array per test and file: a shard's records are
 * added by one loop over plain indexes (see addTestPairs), and nothing is allocated once every test
 * has its rows.
 */
export interface PerTestStore {
  data: Float64Array;
  /** How much of `data` the rows fill. */
  used: number;
  /** Scratch of addTestPairs: where each pair of a shard goes in `data`. */
  where: Float64Array;
}

export function newPerTestStore(): PerTestStore {
  return { data: new Float64Array(1 << 16), used: 0, where: new Float64Array(1 << 12) };
}

/** A version's rows in its merge's store. */
export interface PerTestRows {
  store: PerTestStore;
  /** Per test id: 1 + where its row starts in `store.data`; 0 for a test that moved nothing here. */
  at: Int32Array;
}

/** One file of an input, about to be added: its counters at data[offset…]. */
export interface PlannedFile {
  path: string;
  hash: string;
  maps: FileMaps;
  /** Counters s, then f, then every branch's arms, at data[offset…]. */
  data: ArrayLike<number>;
  offset: number;
  nS: number;
  nF: number;
  arms: readonly number[];
  time: number;
  /** When the input's container (or build) started: what decides which version is newest. */
  since: number;
}

interface Shape { hash: string; s: number; f: number; arms: number[] }
const shapes = new WeakMap<FileMaps, Shape>();

export function shapeOf(maps: FileMaps): Shape {
  let shape = shapes.get(maps);
  if (!shape) {
    const nB = Object.keys(maps.branchMap).length;
    const arms: number[] = [];
    for (let i = 0; i < nB; i++) arms.push(maps.branchMap[i]?.locations?.length ?? -1);
    shape = { hash: maps.hash, s: Object.keys(maps.statementMap).length, f: Object.keys(maps.fnMap).length, arms };
    shapes.set(maps, shape);
  }
  return shape;
}

/** The check of checkCountersMatchMaps, on lengths cached per maps object (it runs for its message only when this fails). */
export function fitsShape(c: { hash: string; s: number; f: number; arms: readonly number[] }, maps: FileMaps): boolean {
  const shape = shapeOf(maps);
  if (c.hash !== shape.hash || c.s !== shape.s || c.f !== shape.f || c.arms.length !== shape.arms.length) return false;
  for (let i = 0; i < c.arms.length; i++) if (c.arms[i] !== shape.arms[i]) return false;
  return true;
}

export function sum(xs: readonly number[]): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}

export function flatten(file: { path: string; hash: string; maps: FileMaps; s: number[]; f: number[]; b: number[][] }): Omit<PlannedFile, 'time' | 'since'> {
  const arms = file.b.map((a) => a.length);
  const data = new Float64Array(file.s.length + file.f.length + sum(arms));
  let o = 0;
  data.set(file.s, o); o += file.s.length;
  data.set(file.f, o); o += file.f.length;
  for (const arm of file.b) { data.set(arm, o); o += arm.length; }
  return { path: file.path, hash: file.hash, maps: file.maps, data, offset: 0, nS: file.s.length, nF: file.f.length, arms };
}

export function newVersion(path: string, group: string, fingerprint: string, maps: FileMaps, arms: readonly number[]): Version {
  const bStart = new Uint32Array(arms.length + 1);
  for (let i = 0; i < arms.length; i++) bStart[i + 1] = bStart[i]! + arms[i]!;
  return {
    // perTest is set here (undefined) so that every Version has one shape: the hot loops stay monomorphic.
    path, group, fingerprint, maps, hashes: new Set(), time: -Infinity, since: Infinity, inputs: 0, saturated: false, perTest: undefined,
    s: new Float64Array(Object.keys(maps.statementMap).length),
    f: new Float64Array(Object.keys(maps.fnMap).length),
    b: new Float64Array(bStart[arms.length]!),
    bStart,
  };
}

const MAX = Number.MAX_SAFE_INTEGER;

/** into[0…n) += from[at…at+n), saturating at MAX_SAFE_INTEGER. */
export function addRange(into: Float64Array, from: ArrayLike<number>, at: number, n: number, v: Version): void {
  for (let i = 0; i < n; i++) {
    let x = into[i]! + from[at + i]!;
    if (x > MAX) { x = MAX; v.saturated = true; }
    into[i] = x;
  }
}

export function addInto(v: Version, p: PlannedFile): void {
  if (p.data.length === 0) return; // a manifest's zero counts
  let at = p.offset;
  addRange(v.s, p.data, at, p.nS, v); at += p.nS;
  addRange(v.f, p.data, at, p.nF, v); at += p.nF;
  addRange(v.b, p.data, at, v.b.length, v);
}

export function sumVersions(a: Version, b: Version, path: string): Version {
  const out: Version = {
    ...a, path, hashes: new Set([...a.hashes, ...b.hashes]), time: Math.max(a.time, b.time), since: Math.min(a.since, b.since),
    inputs: a.inputs + b.inputs, s: a.s.slice(), f: a.f.slice(), b: a.b.slice(), saturated: a.saturated || b.saturated,
  };
  addRange(out.s, b.s, 0, b.s.length, out);
  addRange(out.f, b.f, 0, b.f.length, out);
  addRange(out.b, b.b, 0, b.b.length, out);
  const store = a.perTest?.store ?? b.perTest?.store;
  if (store !== undefined) {
    out.perTest = undefined; // a's rows are a's: the sum gets rows of its own
    for (const v of [a, b]) {
      forEachRow(v, (id, row) => {
        const at = rowOf(store, out, id);
        addRange(store.data.subarray(at, at + row.length), row, 0, row.length, out);
      });
    }
  }
  return out;
}

function countersOf(v: Version): number {
  return v.s.length + v.f.length + v.b.length;
}

/** Where test `id`'s row of `v` starts in `store.data`, made (all zero) on first use. */
function rowOf(store: PerTestStore, v: Version, id: number): number {
  let rows = v.perTest;
  if (rows === undefined) v.perTest = rows = { store, at: new Int32Array(Math.max(16, id + 1)) };
  if (id >= rows.at.length) {
    const at = new Int32Array(Math.max(2 * rows.at.length, id + 1));
    at.set(rows.at);
    rows.at = at;
  }
  const at = rows.at[id]!;
  if (at > 0) return at - 1;
  const len = countersOf(v);
  if (store.used + len > store.data.length) {
    const data = new Float64Array(Math.max(2 * store.data.length, store.used + len));
    data.set(store.data.subarray(0, store.used));
    store.data = data;
  }
  const start = store.used;
  store.used += len;
  rows.at[id] = start + 1;
  return start;
}

/** Calls `fn` with each test id that has a row in `v`, and that row (a view into the store). */
function forEachRow(v: Version, fn: (id: number, row: Float64Array) => void): void {
  const rows = v.perTest;
  if (rows === undefined) return;
  const len = countersOf(v);
  for (let id = 0; id < rows.at.length; id++) {
    const at = rows.at[id]!;
    if (at > 0) fn(id, rows.store.data.subarray(at - 1, at - 1 + len));
  }
}

/**
 * Adds a checked shard's per-test records into the versions of its files (`versions[i]`: of file i;
 * `ids[t]`: the merger's id of the shard's test t, `init` for -1), saturating as the totals do.
 *
 * First where every pair goes, then every count added in one loop: a shard's pairs land in thousands
 * of rows that are seldom in cache by the time it comes, and one tight, predictable loop keeps many
 * of those reads in flight, where a loop per record waits for each (half the time on the bench).
 */
export function addTestPairs(store: PerTestStore, versions: readonly Version[], ids: readonly number[], init: number, spans: Int32Array, pairs: Float64Array): void {
  const n = pairs.length / 2;
  if (store.where.length < n) store.where = new Float64Array(Math.max(n, 2 * store.where.length));
  const where = store.where;
  for (let k = 0; k < spans.length; k += 4) {
    const t = spans[k]!;
    const at = rowOf(store, versions[spans[k + 1]!]!, t < 0 ? init : ids[t]!);
    for (let j = spans[k + 2]!; j < spans[k + 3]!; j++) where[j] = at + pairs[2 * j]!;
  }
  const data = store.data;
  let saturated = false;
  for (let j = 0; j < n; j++) {
    const o = where[j]!;
    let x = data[o]! + pairs[2 * j + 1]!;
    if (x > MAX) { x = MAX; saturated = true; }
    data[o] = x;
  }
  if (!saturated) return;
  // Which versions saturated (rare): those with a counter of this shard now at the bound.
  for (let k = 0; k < spans.length; k += 4) {
    for (let j = spans[k + 2]!; j < spans[k + 3]!; j++) if (data[where[j]!] === MAX) versions[spans[k + 1]!]!.saturated = true;
  }
}

export function minHash(v: Version): string {
  return [...v.hashes].sort()[0] ?? v.fingerprint;
}

/** `names`: the merger's test names by id (see Version.perTest). */
export function toMergedFile(v: Version, names: readonly string[] = []): MergedFile {
  const b: number[][] = [];
  for (let i = 0; i + 1 < v.bStart.length; i++) b.push(Array.from(v.b.subarray(v.bStart[i]!, v.bStart[i + 1]!)));
  const file: MergedFile = { path: v.path, hash: minHash(v), maps: v.maps, s: v.s, f: v.f, b, time: v.time, since: v.since, inputs: v.inputs };
  if (v.perTest !== undefined) {
    const perTest = new Map<string, Float64Array>();
    forEachRow(v, (id, row) => { perTest.set(names[id]!, row.slice()); });
    file.perTest = perTest;
  }
  return file;
}

/** Classic Istanbul objects, key === path. */
export function toCoverageMap(files: readonly MergedFile[]): CoverageMap {
  const data: Record<string, FileCoverageData & { hash: string }> = {};
  for (const f of files) {
    data[f.path] = {
      path: f.path, hash: f.hash,
      statementMap: f.maps.statementMap as FileCoverageData['statementMap'],
      fnMap: f.maps.fnMap as unknown as FileCoverageData['fnMap'],
      branchMap: f.maps.branchMap as unknown as FileCoverageData['branchMap'],
      s: arrayToCounters(Array.from(f.s)),
      f: arrayToCounters(Array.from(f.f)),
      b: arrayToCounters(f.b),
    };
  }
  return libCoverage.createCoverageMap(data);
}
