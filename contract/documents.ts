/**
 * The documents the parts exchange: shards (runtime → combiner), maps documents (written once per
 * build), build manifests (plugin → runtime and combiner) and sources documents (plugin → runtime →
 * combiner, only with the plugin's `sources: true`): their types, format versions and the
 * versions read, encoding, and validation at the boundary (with the bounds of limits.ts). Pure: no fs,
 * no network, no SDK (gzip comes from node:zlib, which every Lambda runtime has).
 */
import { ShardFormatError } from './errors.js';
import {
  DEFAULT_LIMITS, checkJsonDepth, isHash, isSafeName, overBound, projectPathProblem, quotePath, type ByteBound, type InputLimits,
} from './limits.js';
import { TEST_FUNCTIONS_MAX, readSparse, testNameProblem, type SparseCounters, type TestRecord } from './tests.js';

export { ShardFormatError };

// node:crypto and node:zlib are taken on first use: the layer imports this module at cold start only
// for its constants, and loading node:crypto there would cost more than the rest of the layer's init.
const crypto = () => process.getBuiltinModule('node:crypto');
const zlib = () => process.getBuiltinModule('node:zlib');

export const SHARD_FORMAT = 'lambda-coverage/shard';
export const MAPS_FORMAT = 'lambda-coverage/maps';
export const MANIFEST_FORMAT = 'lambda-coverage/manifest';
/** Version of the maps and manifest documents. */
export const FORMAT_VERSION = 1;
/**
 * Version of the shards written now. Version 2 drops each file's `hash` from a shard that names a
 * maps document (`mapId`): the maps document already pins every (path, hash) pair, and the 40 hex
 * digits per file were most of a shard's gzip'd bytes. Version 3 adds per-test coverage (`tests` and
 * `init`, see tests.ts); a shard without either is written as version 2, which older readers read.
 * Versions 1 and 2 are still read.
 */
export const SHARD_VERSION = 3;
/** The version of a shard without per-test data. */
export const SHARD_VERSION_PLAIN = 2;
/** The shard versions this reader reads (both of its paths: the one-pass scan and parseShard). */
export const SHARD_VERSIONS_READ: readonly number[] = [1, 2, 3];

/**
 * Whether a shard's files must each carry their hash: without a maps document the hash is what finds a
 * file's maps (in a manifest), and version 1 always carried it.
 */
export function shardNeedsHashes(version: unknown, mapId: unknown): boolean {
  return version === 1 || mapId === null;
}
/** File name of the build manifest the plugin writes next to the bundle (in esbuild's outdir). */
export const MANIFEST_FILE = 'lambda-coverage-manifest.json';

/** Istanbul's location shapes, kept structural so this module needs no Istanbul import. */
export interface Position { line: number; column: number | null }
export interface Range { start: Position; end: Position }
export interface FnMapping { name: string; decl: Range; loc: Range; line: number }
export interface BranchMapping { loc: Range; type: string; locations: Range[]; line: number }

/** The static half of one file's Istanbul coverage: it never changes while the build is the same. */
export interface FileMaps {
  path: string;
  hash: string;
  statementMap: Record<string, Range>;
  fnMap: Record<string, FnMapping>;
  branchMap: Record<string, BranchMapping>;
}

/** The counting half of one file's coverage, as arrays indexed like Istanbul's `s`/`f`/`b` keys. */
export interface FileCounters {
  /** Istanbul's hash of the file. Absent in a version-2 shard with a `mapId`: its maps document has it. */
  hash?: string;
  s: number[];
  f: number[];
  b: number[][];
}

export interface Shard {
  format: typeof SHARD_FORMAT;
  version: 1 | 2 | typeof SHARD_VERSION;
  functionName: string;
  functionVersion: string;
  containerId: string;
  /** ISO times: when this container started counting, and of this snapshot. */
  startedAt: string;
  updatedAt: string;
  invocations: number;
  /** The maps object these counters belong to, or null when every file carries its maps elsewhere. */
  mapId: string | null;
  files: Record<string, FileCounters>;
  /**
   * Version 3: per named test, the counters its invocations moved in this container (cumulative, like
   * `files`). Only tests that ran here; only the counters they moved.
   */
  tests?: Record<string, TestRecord>;
  /** Version 3: the counters moved while the module loaded, before the first invocation. */
  init?: Record<string, SparseCounters>;
}

export interface MapsDocument {
  format: typeof MAPS_FORMAT;
  version: typeof FORMAT_VERSION;
  mapId: string;
  files: Record<string, FileMaps>;
}

export interface BuildManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof FORMAT_VERSION;
  createdAt: string;
  /** Tool versions that produced the counters (informational). */
  generator: string;
  files: Record<string, FileMaps>;
}

/**
 * The maps document as JSON bytes, joined from each file's FileMaps JSON (text or UTF-8 bytes, taken
 * as they are): how the runtime and the plugin both write it, without parsing the maps.
 */
export function renderMapsDocument(mapId: string, files: Iterable<readonly [string, Uint8Array | string]>): Buffer {
  const parts: Uint8Array[] = [Buffer.from(`{"format":${JSON.stringify(MAPS_FORMAT)},"version":${FORMAT_VERSION},"mapId":${JSON.stringify(mapId)},"files":{`)];
  let first = true;
  for (const [key, json] of files) {
    parts.push(Buffer.from(`${first ? '' : ','}${JSON.stringify(key)}:`), typeof json === 'string' ? Buffer.from(json) : json);
    first = false;
  }
  parts.push(Buffer.from('}}'));
  return Buffer.concat(parts);
}

/**
 * The gzip'd maps document the plugin writes beside the manifest, for the manifest's whole file set,
 * named by its map id: a container whose `__coverage__` has exactly those files (the same id) sends
 * these bytes instead of building the document from the manifest.
 */
export function mapsFileName(mapId: string): string {
  return `lambda-coverage-maps-${mapId}.json.gz`;
}

/** Any file mapsFileName names (the plugin removes the ones of earlier builds). */
export const MAPS_FILE_PATTERN = /^lambda-coverage-maps-[0-9a-f]{32}\.json\.gz$/;

/** A maps id is content-addressed by the (path, hash) pairs, so every container of one build shares it. */
export function computeMapId(files: Iterable<{ path: string; hash: string }>): string {
  const lines = [...files].map((f) => `${f.path}\u0000${f.hash}`).sort();
  return crypto().createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 32);
}

/** Istanbul keeps counters as `{ "0": n, "1": n, … }`; arrays are smaller and faster to sum. */
export function countersToArray<T>(counters: Record<string, T>): T[] {
  const out: T[] = [];
  for (const k of Object.keys(counters)) out[Number(k)] = counters[k] as T;
  return out;
}

export function arrayToCounters<T>(values: readonly T[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (let i = 0; i < values.length; i++) out[i] = values[i] as T;
  return out;
}

export function encodeJsonGz(value: unknown): Buffer {
  return zlib().gzipSync(JSON.stringify(value), { level: 6 });
}

/**
 * The bytes gunzipped when they are gzip, else as they are (plain JSON is read too). `bound` names
 * the limit on both the stored and the inflated size: a small object that inflates to gigabytes
 * stops at the bound instead of taking the process down.
 */
export function gunzipMaybe(bytes: Uint8Array, what: string, limits?: InputLimits, bound: ByteBound = 'maxInputBytes'): Buffer {
  const max = limits?.[bound] ?? Infinity;
  if (bytes.length > max) overBound(what, bound, limits!, `${bytes.length} bytes stored`);
  const isGzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!isGzip) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return zlib().gunzipSync(bytes, Number.isFinite(max) ? { maxOutputLength: max } : {});
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') overBound(what, bound, limits!, 'inflates further');
    throw new ShardFormatError(`${what}: not valid gzip (${(cause as Error).message})`, { cause });
  }
}

export function parseJsonText(raw: Buffer, what: string): unknown {
  checkJsonDepth(raw, what);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new ShardFormatError(`${what}: not valid JSON (${(cause as Error).message}); it may be truncated`, { cause });
  }
}

/** Gunzips when the bytes are gzip, so plain JSON objects are read too. */
export function decodeJsonGz(bytes: Uint8Array, what: string, limits?: InputLimits, bound: ByteBound = 'maxInputBytes'): unknown {
  return parseJsonText(gunzipMaybe(bytes, what, limits, bound), what);
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** An array of counts; a plain loop (the combiner runs this over every counter of every shard). */
function isCounts(a: unknown): a is number[] {
  if (!Array.isArray(a)) return false;
  for (let i = 0; i < a.length; i++) if (!isCount(a[i])) return false;
  return true;
}

function fail(what: string, reason: string): never {
  throw new ShardFormatError(`${what}: ${reason}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkVersion(doc: Record<string, unknown>, format: string, what: string, versions: readonly number[] = [FORMAT_VERSION]): void {
  if (doc.format !== format) fail(what, `not a ${format} document (format is ${JSON.stringify(doc.format)})`);
  if (!versions.includes(doc.version as number)) {
    const reads = versions.length === 1 ? `version ${versions[0]}` : `versions ${versions.join(', ')}`;
    fail(what, `${format} version ${JSON.stringify(doc.version)} is not supported (this lambda-coverage reads ${reads}); upgrade lambda-coverage`);
  }
}

/** The `files` object of a document: an object of at most `maxFiles` entries keyed by contract paths. */
function checkFiles(files: unknown, what: string, limits: InputLimits): [string, unknown][] {
  if (!isPlainObject(files)) fail(what, 'missing "files"');
  const entries = Object.entries(files);
  if (entries.length > limits.maxFiles) overBound(what, 'maxFiles', limits, `${entries.length} files`);
  for (const [path] of entries) {
    const problem = projectPathProblem(path, limits.maxPathLength);
    if (problem !== undefined) fail(what, `file path ${quotePath(path)} ${problem}`);
  }
  return entries;
}

function checkCounters(c: unknown, what: string, hashRequired: boolean, limits: InputLimits): FileCounters {
  if (!isPlainObject(c)) fail(what, 'counters are not an object');
  const fc = c;
  if (fc.hash === undefined ? hashRequired : !isHash(fc.hash)) fail(what, 'missing "hash"');
  if (!isCounts(fc.s)) fail(what, '"s" must be an array of non-negative integers');
  if (!isCounts(fc.f)) fail(what, '"f" must be an array of non-negative integers');
  const b = fc.b;
  let armsOk = Array.isArray(b);
  let n = fc.s.length + fc.f.length;
  for (let i = 0; armsOk && i < (b as unknown[]).length; i++) {
    const arms = (b as unknown[])[i];
    armsOk = isCounts(arms);
    if (armsOk) n += (arms as number[]).length;
  }
  if (!armsOk) fail(what, '"b" must be an array of arrays of non-negative integers');
  if (n > limits.maxCounters) overBound(what, 'maxCounters', limits, `${n} counters`);
  return fc as unknown as FileCounters;
}

/** Validates the shape of a shard (not yet against its maps: see `checkCountersMatchMaps`). */
export function parseShard(value: unknown, what = 'shard', limits: InputLimits = DEFAULT_LIMITS): Shard {
  if (!isPlainObject(value)) fail(what, 'not a JSON object');
  const doc = value;
  checkVersion(doc, SHARD_FORMAT, what, SHARD_VERSIONS_READ);
  for (const k of ['functionName', 'functionVersion', 'containerId', 'startedAt', 'updatedAt'] as const) {
    if (typeof doc[k] !== 'string') fail(what, `missing "${k}"`);
    if (!isSafeName(doc[k], 1024)) fail(what, `"${k}" is over 1,024 characters or contains a control or markup character`);
  }
  if (!isCount(doc.invocations)) fail(what, '"invocations" must be a non-negative integer');
  if (doc.mapId !== null && !isHash(doc.mapId)) fail(what, '"mapId" must be a string of letters and digits, or null');
  const hashRequired = shardNeedsHashes(doc.version, doc.mapId);
  const lengths = new Map<string, number>();
  for (const [path, c] of checkFiles(doc.files, what, limits)) {
    const fc = checkCounters(c, `${what} file ${quotePath(path)}`, hashRequired, limits);
    lengths.set(path, counterCount(fc));
  }
  if (doc.tests !== undefined || doc.init !== undefined) {
    if (doc.version !== 3) fail(what, `"tests" and "init" come in version 3 shards only (this one is version ${doc.version})`);
    checkPerTest(doc, what, lengths, limits);
  }
  return doc as unknown as Shard;
}

/** A file's counters in packed order: its statements, functions and every branch's arms. */
export function counterCount(c: FileCounters): number {
  let n = c.s.length + c.f.length;
  for (let i = 0; i < c.b.length; i++) n += c.b[i]!.length;
  return n;
}

/** One sparse record per file, each of a file the shard carries, within that file's counters. */
function checkSparseFiles(files: unknown, what: string, lengths: ReadonlyMap<string, number>): void {
  if (!isPlainObject(files)) fail(what, '"files" is not an object');
  for (const path of Object.keys(files)) {
    const length = lengths.get(path);
    if (length === undefined) fail(what, `names file ${quotePath(path)}, which the shard's "files" does not carry`);
    const problem = readSparse(files[path], length);
    if (problem !== undefined) fail(what, `file ${quotePath(path)} ${problem}`);
  }
}

function checkPerTest(doc: Record<string, unknown>, what: string, lengths: ReadonlyMap<string, number>, limits: InputLimits): void {
  if (doc.tests !== undefined) {
    if (!isPlainObject(doc.tests)) fail(what, '"tests" is not an object');
    const names = Object.keys(doc.tests);
    if (names.length > limits.maxTests) overBound(what, 'maxTests', limits, `${names.length} tests`);
    for (const name of names) {
      const problem = testNameProblem(name);
      if (problem !== undefined) fail(what, `test name ${quotePath(name)} ${problem}`);
      const rec = doc.tests[name];
      const w = `${what} test ${quotePath(name)}`;
      if (!isPlainObject(rec)) fail(w, 'is not an object');
      if (!isCount(rec.invocations) || rec.invocations === 0) fail(w, '"invocations" must be a positive integer');
      if (rec.functions !== undefined) {
        const fns = rec.functions;
        if (!Array.isArray(fns) || fns.length > TEST_FUNCTIONS_MAX || !fns.every((f) => isSafeName(f, 1024)) || new Set(fns).size !== fns.length) {
          fail(w, `"functions" must be an array of at most ${TEST_FUNCTIONS_MAX} different function names`);
        }
      }
      checkSparseFiles(rec.files, w, lengths);
    }
  }
  if (doc.init !== undefined) checkSparseFiles(doc.init, `${what} "init"`, lengths);
}

/** A position the report writers index by: a line number, and a column number (or none). */
function isPosition(p: unknown): boolean {
  if (!isPlainObject(p)) return false;
  const { line, column } = p;
  return isCount(line) && (column === undefined || column === null || isCount(column));
}

function isRange(r: unknown): r is Range {
  return isPlainObject(r) && isPosition(r.start) && isPosition(r.end);
}

/** A branch arm's location: a range, or empty positions (Istanbul's implicit `else`). */
function isArmRange(r: unknown): boolean {
  if (!isPlainObject(r) || !isPlainObject(r.start) || !isPlainObject(r.end)) return false;
  const empty = (p: Record<string, unknown>) => p.line === undefined && p.column === undefined;
  return (isPosition(r.start) || empty(r.start)) && (isPosition(r.end) || empty(r.end));
}

/** Istanbul's `{ "0": …, "1": … }`: exactly the indices 0…n-1, each value passing `ok`; returns n. */
function checkIndexed(obj: unknown, name: string, what: string, ok: (v: unknown) => boolean): number {
  if (!isPlainObject(obj)) fail(what, `missing "${name}"`);
  const keys = Object.keys(obj);
  const n = keys.length;
  // Index keys come first and ascending, any other key after them: with the first "0" and the last
  // "n-1", the keys are exactly 0…n-1.
  if (n > 0 && (keys[0] !== '0' || keys[n - 1] !== String(n - 1))) {
    const bad = keys.find((k, i) => k !== String(i)) ?? keys[n - 1]!;
    fail(what, `"${name}" has key ${quotePath(bad)}; expected the indices 0…${n - 1}`);
  }
  for (let i = 0; i < n; i++) if (!ok(obj[keys[i]!])) fail(what, `${name}[${i}] is not a valid entry`);
  return n;
}

function isFnMapping(m: unknown): boolean {
  return isPlainObject(m) && isSafeName(m.name, 1024) && isRange(m.loc) && isRange(m.decl) && isCount(m.line);
}

function isBranchMapping(m: unknown): boolean {
  if (!isPlainObject(m) || !Array.isArray(m.locations) || !isSafeName(m.type, 64)) return false;
  if (!isRange(m.loc) || !isCount(m.line)) return false;
  for (const l of m.locations) if (!isArmRange(l)) return false;
  return true;
}

/**
 * One file's static maps, checked entry by entry: they are rendered by the report writers, so every
 * location is numbers, every name is printable, and the counters they describe stay within bounds.
 */
function checkFileMaps(m: unknown, path: string, what: string, limits: InputLimits): void {
  const w = `${what}: file ${quotePath(path)}`;
  if (!isPlainObject(m)) fail(w, 'not an object');
  if (!isHash(m.hash)) fail(w, 'missing "hash"');
  const nS = checkIndexed(m.statementMap, 'statementMap', w, isRange);
  const nF = checkIndexed(m.fnMap, 'fnMap', w, isFnMapping);
  let n = nS + nF;
  if (n > limits.maxCounters) overBound(w, 'maxCounters', limits, `${n} counters`);
  checkIndexed(m.branchMap, 'branchMap', w, (b) => {
    if (!isBranchMapping(b)) return false;
    n += (b as { locations: unknown[] }).locations.length;
    if (n > limits.maxCounters) overBound(w, 'maxCounters', limits, 'more counters');
    return true;
  });
}

export function parseMaps(value: unknown, what = 'maps', limits: InputLimits = DEFAULT_LIMITS): MapsDocument {
  if (!isPlainObject(value)) fail(what, 'not a JSON object');
  const doc = value;
  checkVersion(doc, MAPS_FORMAT, what);
  if (!isHash(doc.mapId)) fail(what, 'missing "mapId"');
  for (const [p, m] of checkFiles(doc.files, what, limits)) checkFileMaps(m, p, what, limits);
  return doc as unknown as MapsDocument;
}

export function parseManifest(value: unknown, what = 'manifest', limits: InputLimits = DEFAULT_LIMITS): BuildManifest {
  if (!isPlainObject(value)) fail(what, 'not a JSON object');
  const doc = value;
  checkVersion(doc, MANIFEST_FORMAT, what);
  for (const [p, m] of checkFiles(doc.files, what, limits)) checkFileMaps(m, p, what, limits);
  return doc as unknown as BuildManifest;
}

/** The maps of `path` in a document's files, never a property its prototype lends (`constructor`). */
export function ownFile<T>(files: Record<string, T>, path: string): T | undefined {
  return Object.hasOwn(files, path) ? files[path] : undefined;
}

/** Counters only make sense against the maps of the same file version: lengths must agree. */
export function checkCountersMatchMaps(counters: FileCounters, maps: FileMaps, what: string): void {
  if (counters.hash !== undefined && counters.hash !== maps.hash) fail(what, `hash ${counters.hash} does not match the map's ${maps.hash}`);
  const nS = Object.keys(maps.statementMap).length;
  const nF = Object.keys(maps.fnMap).length;
  const nB = Object.keys(maps.branchMap).length;
  if (counters.s.length !== nS) fail(what, `has ${counters.s.length} statement counters, its map has ${nS}`);
  if (counters.f.length !== nF) fail(what, `has ${counters.f.length} function counters, its map has ${nF}`);
  if (counters.b.length !== nB) fail(what, `has ${counters.b.length} branch counters, its map has ${nB}`);
  counters.b.forEach((arms, i) => {
    const want = maps.branchMap[i]?.locations.length ?? 0;
    if (arms.length !== want) fail(what, `branch ${i} has ${arms.length} arms, its map has ${want}`);
  });
}

// ---- sources documents -----------------------------------------------------------------------------

export const SOURCES_FORMAT = 'lambda-coverage/sources';
/** Version of the sources document. */
export const SOURCES_VERSION = 1;
/**
 * File name of the sources document the plugin writes next to the manifest with `sources: true`:
 * gzip'd already, so the runtime uploads its bytes as they are (no parse, no gzip at the flush).
 */
export const SOURCES_FILE = 'lambda-coverage-sources.json.gz';

/**
 * The original text of every file instrumented into one output directory, keyed by the Istanbul
 * hash of the file version it was instrumented as. Istanbul's hash is sha1 of the file's coverage
 * data (path and static maps), not of the text, so the key names the version but cannot prove the
 * text: the combiner checks each text against the maps of that version before it shows it.
 */
export interface SourcesDocument {
  format: typeof SOURCES_FORMAT;
  version: typeof SOURCES_VERSION;
  /** Istanbul hash → the exact text that was instrumented (UTF-8 decoded). */
  files: Record<string, string>;
}

/**
 * Validates a sources document's shape: the files are at most `maxFiles`, keyed by hashes, and each
 * is a string (its size is bounded by `maxSourcesBytes` on the whole document, before it is parsed).
 */
export function parseSources(value: unknown, what = 'sources', limits: InputLimits = DEFAULT_LIMITS): SourcesDocument {
  if (!isPlainObject(value)) fail(what, 'not a JSON object');
  const doc = value;
  checkVersion(doc, SOURCES_FORMAT, what, [SOURCES_VERSION]);
  const files = doc.files;
  if (!isPlainObject(files)) fail(what, 'missing "files"');
  const entries = Object.entries(files);
  if (entries.length > limits.maxFiles) overBound(what, 'maxFiles', limits, `${entries.length} files`);
  for (const [hash, text] of entries) {
    if (!isHash(hash)) fail(what, `key ${quotePath(hash)} is not an Istanbul hash`);
    if (typeof text !== 'string') fail(what, `the text of ${hash} is not a string`);
  }
  return doc as unknown as SourcesDocument;
}
