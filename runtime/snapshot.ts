/**
 * Pure: turn the live `globalThis.__coverage__` (lean or full Istanbul objects) into a Shard with
 * counters as arrays, and gather the static maps for the MapsDocument. No fs, no network.
 */
import {
  FORMAT_VERSION, MAPS_FORMAT, SHARD_FORMAT, SHARD_VERSION_PLAIN, computeMapId, renderMapsDocument,
  type BuildManifest, type FileCounters, type FileMaps, type MapsDocument, type Shard,
} from '../contract/format.js';
import { copyFile, type LiveCoverage, type LiveFileCoverage } from './counters.js';

export { readLiveCoverage, type LiveCoverage, type LiveFileCoverage } from './counters.js';

export interface Snapshot {
  files: Record<string, FileCounters>;
  /** Sum of every counter: counters only grow, so (fileCount, total) changes iff anything changed. */
  total: number;
  fileCount: number;
  /** Keys skipped because they do not look like Istanbul coverage (named for health). */
  invalid: string[];
}

/**
 * Where takeSnapshot reports what moved since the snapshot it refills: per file, the offsets (packed
 * order: s, then f, then each branch's arms) of the counters that changed and by how much. Only asked
 * for when the moves are attributed to a test; without it a snapshot costs what it always did.
 */
export interface MovedCounters {
  moved(key: string, offsets: ArrayLike<number>, deltas: ArrayLike<number>, n: number): void;
}

/** Scratch of the moves of one file (kept between snapshots: a flush allocates nothing for them). */
let movedAt = new Int32Array(1024);
let movedBy = new Float64Array(1024);

function noteMove(n: number, offset: number, delta: number): void {
  if (n === movedAt.length) {
    const at = new Int32Array(n * 2); at.set(movedAt); movedAt = at;
    const by = new Float64Array(n * 2); by.set(movedBy); movedBy = by;
  }
  movedAt[n] = offset;
  movedBy[n] = delta;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/**
 * Copies the counters (they keep counting after we return). Integer-like keys iterate in ascending
 * order by the language spec, so `Object.values` lines up with Istanbul's "0", "1", … keys.
 *
 * With `reuse` (the previous snapshot of the same collector), a file's arrays are refilled in place
 * by index when its version is the same: a file's counters never change in number, and a fresh copy
 * of every array at every flush was most of a flush's garbage (~550 KB for 320 files, measured), which
 * makes V8 scavenge every few flushes and grow the function's young generation. The caller must not
 * keep the returned arrays across a later call.
 */
export function takeSnapshot(cov: LiveCoverage, only?: ReadonlySet<string>, reuse?: Snapshot, moved?: MovedCounters): Snapshot {
  // The previous snapshot's object of files is refilled too (the same keys, in the same order, at
  // almost every flush); a file it has that this one does not is deleted from it below.
  const files: Record<string, FileCounters> = reuse?.files ?? {};
  const invalid: string[] = [];
  let total = 0;
  let fileCount = 0;
  for (const key in cov) {
    if (only !== undefined && !only.has(key)) continue;
    const fc = cov[key];
    if (!counted(fc)) {
      invalid.push(key);
      continue;
    }
    const old = reuse?.files[key];
    const sum = old !== undefined && old.hash === fc.hash ? (moved === undefined ? refill(fc, old) : refillMoved(fc, old, key, moved)) : undefined;
    if (sum !== undefined) {
      total += sum;
      fileCount++;
      continue;
    }
    const copy = copyFile(fc, fc.hash);
    total += copy.total;
    files[key] = copy.counters;
    fileCount++;
    // A file new to this collector (loaded by this invocation): everything it counted moved now.
    if (moved !== undefined) reportAll(files[key]!, key, moved);
  }
  if (reuse !== undefined) dropUnseen(files, fileCount, cov, only);
  return { files, total, fileCount, invalid };
}

/** Whether a `__coverage__` entry is counters a snapshot takes. */
function counted(fc: LiveFileCoverage | undefined): fc is LiveFileCoverage & { hash: string } {
  return isObj(fc) && isObj(fc.s) && isObj(fc.f) && isObj(fc.b) && typeof fc.hash === 'string';
}

/** A refilled object of files keeps only what this snapshot took (not a file now invalid, or outside `only`). */
function dropUnseen(files: Record<string, FileCounters>, fileCount: number, cov: LiveCoverage, only: ReadonlySet<string> | undefined): void {
  let size = 0;
  for (const _ in files) size++;
  if (size === fileCount) return;
  for (const key in files) {
    if ((only !== undefined && !only.has(key)) || !counted(cov[key])) delete files[key];
  }
}

function reportAll(c: FileCounters, key: string, moved: MovedCounters): void {
  let n = 0;
  let o = 0;
  const take = (v: number) => { if (v > 0) noteMove(n++, o, v); o++; };
  for (let i = 0; i < c.s.length; i++) take(c.s[i]!);
  for (let i = 0; i < c.f.length; i++) take(c.f[i]!);
  for (let i = 0; i < c.b.length; i++) { const arms = c.b[i]!; for (let j = 0; j < arms.length; j++) take(arms[j]!); }
  if (n > 0) moved.moved(key, movedAt, movedBy, n);
}

/** refill, noting each counter that moved; the moves are reported only once the whole file refilled. */
function refillMoved(fc: LiveFileCoverage, into: FileCounters, key: string, moved: MovedCounters): number | undefined {
  const { s, f, b } = into;
  if (!fits(fc.s, s.length) || !fits(fc.f, f.length) || !fits(fc.b, b.length)) return undefined;
  let total = 0;
  let n = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++, o++) {
    const v = fc.s[i];
    if (typeof v !== 'number') return undefined;
    if (v !== s[i]) { noteMove(n++, o, v - s[i]!); s[i] = v; }
    total += v;
  }
  for (let i = 0; i < f.length; i++, o++) {
    const v = fc.f[i];
    if (typeof v !== 'number') return undefined;
    if (v !== f[i]) { noteMove(n++, o, v - f[i]!); f[i] = v; }
    total += v;
  }
  for (let i = 0; i < b.length; i++) {
    const live = fc.b[i];
    const arms = b[i]!;
    if (!Array.isArray(live) || live.length !== arms.length) return undefined;
    for (let j = 0; j < arms.length; j++, o++) {
      const v = live[j];
      if (typeof v !== 'number') return undefined;
      if (v !== arms[j]) { noteMove(n++, o, v - arms[j]!); arms[j] = v; }
      total += v;
    }
  }
  if (n > 0) moved.moved(key, movedAt, movedBy, n);
  return total;
}


/** Copies one file's counters into `into` by index; undefined (nothing trusted) unless every count fits. */
function refill(fc: LiveFileCoverage, into: FileCounters): number | undefined {
  const { s, f, b } = into;
  if (!fits(fc.s, s.length) || !fits(fc.f, f.length) || !fits(fc.b, b.length)) return undefined;
  let total = 0;
  for (let i = 0; i < s.length; i++) { const v = fc.s[i]; if (typeof v !== 'number') return undefined; s[i] = v; total += v; }
  for (let i = 0; i < f.length; i++) { const v = fc.f[i]; if (typeof v !== 'number') return undefined; f[i] = v; total += v; }
  for (let i = 0; i < b.length; i++) {
    const live = fc.b[i];
    const arms = b[i]!;
    if (!Array.isArray(live) || live.length !== arms.length) return undefined;
    for (let j = 0; j < arms.length; j++) { const v = live[j]; if (typeof v !== 'number') return undefined; arms[j] = v; total += v; }
  }
  return total;
}

/** Istanbul's keys are exactly "0" … "n-1": the last one is there and the next one is not. */
function fits(o: Record<string, unknown>, n: number): boolean {
  return (n === 0 || (n - 1) in o) && !(n in o);
}

/** Cheap change test without copying: same walk as takeSnapshot, sums only. */
export function coverageFingerprint(cov: LiveCoverage): string {
  let total = 0;
  let n = 0;
  for (const key in cov) {
    const fc = cov[key];
    if (!isObj(fc) || !isObj(fc.s) || !isObj(fc.f) || !isObj(fc.b)) continue;
    n++;
    for (const k in fc.s) total += fc.s[k]!;
    for (const k in fc.f) total += fc.f[k]!;
    for (const k in fc.b) { const arms = fc.b[k]!; for (let j = 0; j < arms.length; j++) total += arms[j]!; }
  }
  return `${n}:${total}`;
}

export interface MapsSelection {
  /** Maps for every file that has them (from the full object itself, else from the manifest). */
  files: Record<string, FileMaps>;
  /** Lean files whose maps are not in the manifest (or are for another version of the file). */
  missing: string[];
  /** Keys of files whose counters can be joined to maps: the shard carries these only. */
  keys: Set<string>;
  mapId: string | null;
}

/** Keys and hashes alone decide the map id: no manifest needed to know where the maps live. */
export function mapIdOf(cov: LiveCoverage): string | null {
  const ids: { path: string; hash: string }[] = [];
  for (const key in cov) {
    const h = cov[key]?.hash;
    if (typeof h === 'string') ids.push({ path: key, hash: h });
  }
  return ids.length === 0 ? null : computeMapId(ids);
}

export function selectMaps(cov: LiveCoverage, manifest: BuildManifest | undefined): MapsSelection {
  const files: Record<string, FileMaps> = {};
  const missing: string[] = [];
  for (const key in cov) {
    const fc = cov[key];
    if (!isObj(fc) || typeof fc.hash !== 'string') continue;
    if (isObj(fc.statementMap) && isObj(fc.fnMap) && isObj(fc.branchMap)) {
      files[key] = { path: key, hash: fc.hash, statementMap: fc.statementMap, fnMap: fc.fnMap, branchMap: fc.branchMap };
      continue;
    }
    const m = manifest?.files[key];
    if (m !== undefined && m.hash === fc.hash) files[key] = { ...m, path: key };
    else missing.push(key);
  }
  const keys = new Set(Object.keys(files));
  const mapId = keys.size === 0 ? null : computeMapId(Object.values(files));
  return { files, missing, keys, mapId };
}

export function buildMapsDocument(sel: MapsSelection): MapsDocument | undefined {
  if (sel.mapId === null) return undefined;
  return { format: MAPS_FORMAT, version: FORMAT_VERSION, mapId: sel.mapId, files: sel.files };
}

export interface ShardMeta {
  functionName: string;
  functionVersion: string;
  containerId: string;
  startedAt: string;
  invocations: number;
}

/**
 * With a maps document (`mapId`), files go without their hash: the maps document pins each file's
 * hash, and the hashes were most of the shard's bytes. Without one, the hash is how the combiner
 * finds the file's maps in a build manifest, so it stays.
 */
export function buildShard(meta: ShardMeta, snap: Snapshot, mapId: string | null, now: Date): Shard {
  let files = snap.files;
  if (mapId !== null) {
    files = {};
    for (const key in snap.files) {
      const { s, f, b } = snap.files[key]!;
      files[key] = { s, f, b };
    }
  }
  return {
    format: SHARD_FORMAT, version: SHARD_VERSION_PLAIN,
    functionName: meta.functionName, functionVersion: meta.functionVersion, containerId: meta.containerId,
    startedAt: meta.startedAt, updatedAt: now.toISOString(), invocations: meta.invocations,
    mapId, files,
  };
}

export interface MapsBytesSelection {
  /** Key -> FileMaps JSON (UTF-8), for every file whose maps are known. */
  maps: Map<string, Uint8Array>;
  missing: string[];
  keys: Set<string>;
  mapId: string | null;
}

/** Like selectMaps, over manifest entries kept as bytes (see manifest.ts readManifestEntries). */
export function selectMapsBytes(cov: LiveCoverage, entries: ReadonlyMap<string, { hash: string; json: Uint8Array }> | undefined): MapsBytesSelection {
  const maps = new Map<string, Uint8Array>();
  const ids: { path: string; hash: string }[] = [];
  const missing: string[] = [];
  for (const key in cov) {
    const fc = cov[key];
    if (!isObj(fc) || typeof fc.hash !== 'string') continue;
    if (isObj(fc.statementMap) && isObj(fc.fnMap) && isObj(fc.branchMap)) {
      maps.set(key, Buffer.from(JSON.stringify({ path: key, hash: fc.hash, statementMap: fc.statementMap, fnMap: fc.fnMap, branchMap: fc.branchMap })));
      ids.push({ path: key, hash: fc.hash });
      continue;
    }
    const e = entries?.get(key);
    if (e !== undefined && e.hash === fc.hash) {
      maps.set(key, e.json);
      ids.push({ path: key, hash: fc.hash });
    } else {
      missing.push(key);
    }
  }
  return { maps, missing, keys: new Set(maps.keys()), mapId: ids.length === 0 ? null : computeMapId(ids) };
}

/** The MapsDocument as JSON bytes, joined from the files' JSON bytes (one copy, no string of it). */
export function mapsDocumentBytes(sel: MapsBytesSelection): Buffer | undefined {
  return sel.mapId === null ? undefined : renderMapsDocument(sel.mapId, sel.maps);
}
