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
const SHARD_VERSIONS_READ: readonly number[] = [1, 2];
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

export function combinedPrefix(prefix: string, runId: string): string {
  return `${normalizePrefix(prefix)}combined/${keySegment(runId)}/`;
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

/** The bytes gunzipped when they are gzip, else as they are (plain JSON is read too). */
export function gunzipMaybe(bytes: Uint8Array, what: string): Buffer {
  try {
    const isGzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    return isGzip ? zlib().gunzipSync(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (cause) {
    throw new ShardFormatError(`${what}: not valid gzip (${(cause as Error).message})`, { cause });
  }
}

export function parseJsonText(raw: Buffer, what: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new ShardFormatError(`${what}: not valid JSON (${(cause as Error).message}); it may be truncated`, { cause });
  }
}

/** Gunzips when the bytes are gzip, so plain JSON objects are read too. */
export function decodeJsonGz(bytes: Uint8Array, what: string): unknown {
  return parseJsonText(gunzipMaybe(bytes, what), what);
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

function checkVersion(doc: Record<string, unknown>, format: string, what: string, versions: readonly number[] = [FORMAT_VERSION]): void {
  if (doc.format !== format) fail(what, `not a ${format} document (format is ${JSON.stringify(doc.format)})`);
  if (!versions.includes(doc.version as number)) {
    const reads = versions.length === 1 ? `version ${versions[0]}` : `versions ${versions.join(', ')}`;
    fail(what, `${format} version ${JSON.stringify(doc.version)} is not supported (this lambda-coverage reads ${reads}); upgrade lambda-coverage`);
  }
}

function checkCounters(c: unknown, what: string, hashRequired: boolean): FileCounters {
  if (typeof c !== 'object' || c === null) fail(what, 'counters are not an object');
  const fc = c as Record<string, unknown>;
  if (fc.hash === undefined ? hashRequired : typeof fc.hash !== 'string' || fc.hash === '') fail(what, 'missing "hash"');
  if (!isCounts(fc.s)) fail(what, '"s" must be an array of non-negative integers');
  if (!isCounts(fc.f)) fail(what, '"f" must be an array of non-negative integers');
  const b = fc.b;
  let armsOk = Array.isArray(b);
  for (let i = 0; armsOk && i < (b as unknown[]).length; i++) armsOk = isCounts((b as unknown[])[i]);
  if (!armsOk) fail(what, '"b" must be an array of arrays of non-negative integers');
  return fc as unknown as FileCounters;
}

/** Validates the shape of a shard (not yet against its maps: see `checkCountersMatchMaps`). */
export function parseShard(value: unknown, what = 'shard'): Shard {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what, 'not a JSON object');
  const doc = value as Record<string, unknown>;
  checkVersion(doc, SHARD_FORMAT, what, SHARD_VERSIONS_READ);
  for (const k of ['functionName', 'functionVersion', 'containerId', 'startedAt', 'updatedAt'] as const) {
    if (typeof doc[k] !== 'string') fail(what, `missing "${k}"`);
  }
  if (!isCount(doc.invocations)) fail(what, '"invocations" must be a non-negative integer');
  if (doc.mapId !== null && typeof doc.mapId !== 'string') fail(what, '"mapId" must be a string or null');
  if (typeof doc.files !== 'object' || doc.files === null) fail(what, 'missing "files"');
  // Without a maps document, the hash is what joins a file's counters to its maps (from a manifest).
  const hashRequired = doc.version === 1 || doc.mapId === null;
  for (const [path, c] of Object.entries(doc.files as object)) checkCounters(c, `${what} file ${path}`, hashRequired);
  return doc as unknown as Shard;
}

function checkFileMaps(m: unknown, path: string, what: string): FileMaps {
  if (typeof m !== 'object' || m === null) fail(what, `file ${path}: not an object`);
  const fm = m as Record<string, unknown>;
  if (typeof fm.hash !== 'string') fail(what, `file ${path}: missing "hash"`);
  for (const k of ['statementMap', 'fnMap', 'branchMap'] as const) {
    if (typeof fm[k] !== 'object' || fm[k] === null) fail(what, `file ${path}: missing "${k}"`);
  }
  return { ...(fm as unknown as FileMaps), path };
}

export function parseMaps(value: unknown, what = 'maps'): MapsDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what, 'not a JSON object');
  const doc = value as Record<string, unknown>;
  checkVersion(doc, MAPS_FORMAT, what);
  if (typeof doc.mapId !== 'string') fail(what, 'missing "mapId"');
  if (typeof doc.files !== 'object' || doc.files === null) fail(what, 'missing "files"');
  for (const [p, m] of Object.entries(doc.files as object)) checkFileMaps(m, p, what);
  return doc as unknown as MapsDocument;
}

export function parseManifest(value: unknown, what = 'manifest'): BuildManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what, 'not a JSON object');
  const doc = value as Record<string, unknown>;
  checkVersion(doc, MANIFEST_FORMAT, what);
  if (typeof doc.files !== 'object' || doc.files === null) fail(what, 'missing "files"');
  for (const [p, m] of Object.entries(doc.files as object)) checkFileMaps(m, p, what);
  return doc as unknown as BuildManifest;
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
