/**
 * The S3 data contract between the runtime (writer) and the combiner (reader), and the build
 * manifest the plugin writes beside a bundle. Nothing else in the project knows these layouts.
 *
 * Pure: no fs, no network, no SDK. (gzip comes from node:zlib, which every Lambda runtime has.)
 *
 * Layout:
 *   {prefix}{functionName}/shards/{containerId}.json.gz   cumulative counters of one container (overwritten)
 *   {prefix}{functionName}/maps/{mapId}.json.gz           static maps the shards point at (written once)
 *   {prefix}combined/{runId}/…                             combiner output
 */

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
 * digits per file were most of a shard's gzip'd bytes. Version 1 shards are still read.
 */
export const SHARD_VERSION = 2;
/** The shard versions this reader reads (both of its paths: the one-pass scan and parseShard). */
export const SHARD_VERSIONS_READ: readonly number[] = [1, 2];

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
  version: 1 | typeof SHARD_VERSION;
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

export class ShardFormatError extends Error {
  override name = 'ShardFormatError';
}

/**
 * What one input may cost a reader. Everything read back from S3 or a directory is untrusted (any role
 * that can write under the prefix can write it), so each input is bounded before it is inflated, parsed
 * or merged; over a bound it is refused, named, and the combine goes on. The defaults fit real fleets
 * with room to spare: a 321-file function's shard is 2.4 KB gzip'd, its maps document about 1 MB.
 */
export interface InputLimits {
  /** Largest shard or plain coverage file, as stored and inflated (bytes). @default 32 MiB */
  maxInputBytes: number;
  /** Largest maps document or build manifest, as stored and inflated (bytes). @default 256 MiB */
  maxMapsBytes: number;
  /** Files in one shard, maps document, manifest or coverage file. @default 50,000 */
  maxFiles: number;
  /** Counters of one file (statements + functions + branch arms). @default 1,000,000 */
  maxCounters: number;
  /** Characters of one file path. @default 1,024 */
  maxPathLength: number;
}

export const DEFAULT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxInputBytes: 32 * 1024 * 1024,
  maxMapsBytes: 256 * 1024 * 1024,
  maxFiles: 50_000,
  maxCounters: 1_000_000,
  maxPathLength: 1024,
});

/** The combiner's flag for each bound, named in every message about it. */
export const LIMIT_FLAGS: Readonly<Record<keyof InputLimits, string>> = {
  maxInputBytes: '--max-shard-mb', maxMapsBytes: '--max-maps-mb', maxFiles: '--max-files',
  maxCounters: '--max-counters', maxPathLength: '--max-path-length',
};

/** The message for an input over one of its bounds: what was found, the bound, and the flag. */
export function boundMessage(what: string, name: keyof InputLimits, limits: InputLimits, found?: string): string {
  const n = limits[name];
  const bytes = name === 'maxInputBytes' || name === 'maxMapsBytes';
  const bound = !bytes ? String(n) : n < 1048576 ? `${n} bytes` : `${+(n / 1048576).toFixed(3)} MiB`;
  return `${what ? `${what}: ` : ''}${found ? `${found}, ` : ''}over the bound of ${bound} (raise it with ${LIMIT_FLAGS[name]} if this input is genuine)`;
}

function overBound(what: string, name: keyof InputLimits, limits: InputLimits, found?: string): never {
  throw new ShardFormatError(boundMessage(what, name, limits, found));
}

/** Deeper than any document of the contract or of Istanbul (about 9 levels): refused before parsing. */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses JSON text nested deeper than MAX_JSON_DEPTH before JSON.parse builds it: a few bytes of
 * `[[[[…` would otherwise become a million objects. One pass over the bytes, strings skipped.
 */
export function checkJsonDepth(raw: Uint8Array, what: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new ShardFormatError(`${what}: nested deeper than ${MAX_JSON_DEPTH} levels; no coverage document is`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}

/** Throws when an object's stored size is over its bound (checked from a listing before it is read). */
export function checkStoredSize(bytes: number, what: string, limits: InputLimits, bound: 'maxInputBytes' | 'maxMapsBytes'): void {
  if (bytes > limits[bound]) overBound(what, bound, limits, `${bytes} bytes stored`);
}

/**
 * Characters no file path of a project needs and that would change what a report means: C0/C1
 * controls (a newline starts a new lcov record, escapes rewrite a terminal), the markup characters
 * istanbul-reports does not escape everywhere (breadcrumbs, XML attributes, html-spa's inline
 * script), line separators, and bidirectional overrides (a name that reads as another).
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f<>"\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

/**
 * Why `p` is not a path of the contract, or undefined when it is one: a relative POSIX path inside
 * the project (no leading `/`, drive letter or backslash, no `.`, `..` or empty segment), of safe
 * characters, at most `maxLength` long. Shards, maps documents and manifests carry only such paths.
 */
export function projectPathProblem(p: unknown, maxLength: number = DEFAULT_LIMITS.maxPathLength): string | undefined {
  if (typeof p !== 'string' || p === '') return 'is empty or not a string';
  if (p.length > maxLength) return `is ${p.length} characters long, over the bound of ${maxLength} (raise it with ${LIMIT_FLAGS.maxPathLength})`;
  if (UNSAFE_CHARS.test(p)) return 'contains a control, markup or direction-changing character';
  if (p.includes('\\')) return 'contains a backslash (paths use /)';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'is absolute (paths are relative to the project root)';
  for (const seg of p.split('/')) {
    // `__proto__` as a key of a plain object would set its prototype instead of adding an entry.
    if (seg === '__proto__') return 'has a "__proto__" segment';
    if (seg === '' || seg === '.' || seg === '..') return `has a ${seg === '' ? 'empty' : `"${seg}"`} segment (paths stay inside the project)`;
  }
  if (LONE_SURROGATE.test(p)) return 'is not well-formed Unicode';
  return undefined;
}

/** A file path inside a document, quoted for a message (cut short: it is untrusted). */
export function quotePath(p: string): string {
  return JSON.stringify(p.length > 120 ? `${p.slice(0, 120)}…` : p);
}

/** A name a report prints (function names, branch types): bounded, and no line or markup breaks. */
export function isSafeName(s: unknown, maxLength: number): s is string {
  return typeof s === 'string' && s.length <= maxLength && !UNSAFE_CHARS.test(s);
}

/** `coverage/` stays, `coverage` becomes `coverage/`, `` and `/` become ``. */
export function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/** S3 keys may not be built from unvetted strings: names become one safe path segment. */
export function keySegment(value: string): string {
  const s = value.replace(/[^A-Za-z0-9._=-]/g, '_').replace(/^\.+/, '_');
  return s === '' ? '_' : s.slice(0, 200);
}

export function shardKey(prefix: string, functionName: string, containerId: string): string {
  return `${normalizePrefix(prefix)}${keySegment(functionName)}/shards/${keySegment(containerId)}.json.gz`;
}

export function mapsKey(prefix: string, functionName: string, mapId: string): string {
  return `${normalizePrefix(prefix)}${keySegment(functionName)}/maps/${keySegment(mapId)}.json.gz`;
}

/** Where the combiner writes: `{prefix}combined/`, never read back as input. */
export function combinedRoot(prefix: string): string {
  return `${normalizePrefix(prefix)}combined/`;
}

export function combinedPrefix(prefix: string, runId: string): string {
  return `${combinedRoot(prefix)}${keySegment(runId)}/`;
}

/** The object the deep health check writes to prove the function can write to its prefix. */
export function probeKey(prefix: string, functionName: string): string {
  return `${normalizePrefix(prefix)}${keySegment(functionName)}/health/probe.json`;
}

/** `{prefix}{fn}/shards/x.json.gz` → `{prefix}{fn}/maps/{mapId}.json.gz`: maps sit beside their shards. */
export function mapsKeyNear(shardKeyOrPath: string, mapId: string): string {
  const parts = shardKeyOrPath.split('/');
  const dir = parts.slice(0, -2).join('/');
  return `${dir === '' ? '' : `${dir}/`}maps/${keySegment(mapId)}.json.gz`;
}

/** The function a key names when it is a shard key under `prefix` (`{prefix}{fn}/shards/x.json[.gz]`). */
export function parseShardKey(prefix: string, key: string): { functionName: string } | undefined {
  const p = normalizePrefix(prefix);
  if (!key.startsWith(p)) return undefined;
  const parts = key.slice(p.length).split('/');
  if (parts.length !== 3 || parts[0] === '' || parts[1] !== 'shards' || !/^[^/]+\.json(\.gz)?$/.test(parts[2]!)) return undefined;
  return { functionName: parts[0]! };
}

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
export function gunzipMaybe(bytes: Uint8Array, what: string, limits?: InputLimits, bound: 'maxInputBytes' | 'maxMapsBytes' = 'maxInputBytes'): Buffer {
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
export function decodeJsonGz(bytes: Uint8Array, what: string, limits?: InputLimits, bound: 'maxInputBytes' | 'maxMapsBytes' = 'maxInputBytes'): unknown {
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

/** Istanbul's hash of a file (hex, or base64 from other tools): what messages and reports may print. */
export function isHash(h: unknown): h is string {
  return typeof h === 'string' && /^[A-Za-z0-9+/=._:-]{1,256}$/.test(h);
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
  for (const [path, c] of checkFiles(doc.files, what, limits)) checkCounters(c, `${what} file ${quotePath(path)}`, hashRequired, limits);
  return doc as unknown as Shard;
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
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k !== String(i)) fail(what, `"${name}" has key ${quotePath(k)}; expected the indices 0…${keys.length - 1}`);
    if (!ok(obj[k])) fail(what, `${name}[${k}] is not a valid entry`);
  }
  return keys.length;
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
