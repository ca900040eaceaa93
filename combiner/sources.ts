/**
 * Where inputs come from: an S3 bucket laid out as contract/keys.ts says, or a directory (the
 * same layout copied down, plain `coverage-final.json` files, nyc's `.nyc_output`). Each source yields
 * items; an item reads its bytes and can load the maps document its shard points at. A source given a
 * SourcesCatalog tells it where the sources document of each build whose maps it loaded would be.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  DEFAULT_LIMITS, checkStoredSize, combinedRoot, decodeJsonGz, keySegment, mapsKeyNear, normalizePrefix, parseMaps, parseShardKey,
  sourcesKeyNear, type InputLimits, type MapsDocument,
} from '../contract/format.js';
import type { SourcesCatalog } from './stored-sources.js';
import { getObjectBytes, listObjects, type ListedObject, type RetryOptions } from './s3.js';

export interface SourceItem {
  /** S3 key (`s3://bucket/key`) or local file, used in messages. */
  source: string;
  /** Function name from the layout, when the item sits in `{function}/shards/`. */
  functionName?: string;
  /** LastModified (ms): the time of plain coverage files, which carry none of their own. */
  time: number;
  /** For local files: the mtime, read only when it is needed (plain coverage files). */
  mtime?: () => Promise<number>;
  /** Bytes, or null when the object vanished between list and get. */
  read(): Promise<Uint8Array | null>;
  /** The maps document of this shard's build (cached per mapId by the source). */
  loadMaps(mapId: string): Promise<MapsDocument>;
}

const COVERAGE_FILE = /\.json(\.gz)?$/;

function mapsCache(load: (mapId: string, near: string) => Promise<MapsDocument>): (mapId: string, near: string) => Promise<MapsDocument> {
  const cache = new Map<string, Promise<MapsDocument>>();
  return (mapId, near) => {
    let p = cache.get(mapId);
    if (!p) {
      p = load(mapId, near);
      cache.set(mapId, p);
    }
    return p;
  };
}

function checkMapId(doc: MapsDocument, mapId: string, what: string): MapsDocument {
  if (doc.mapId !== mapId) throw new Error(`${what}: holds mapId ${doc.mapId}, expected ${mapId}`);
  return doc;
}

// ---- S3 --------------------------------------------------------------------------------------------

export interface S3SourceOptions {
  client: S3Client;
  bucket: string;
  prefix: string;
  /** Only these functions (their `{prefix}{function}/` folders). */
  functions?: readonly string[];
  retry?: RetryOptions;
  /** What one input may cost. @default DEFAULT_LIMITS */
  limits?: InputLimits;
  /** Told where each loaded build's sources document is (read later, only if the report needs it). */
  catalog?: SourcesCatalog;
}

export async function* s3Items(opts: S3SourceOptions): AsyncGenerator<SourceItem> {
  const prefix = normalizePrefix(opts.prefix);
  const { client, bucket, retry } = opts;
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const load = mapsCache(async (mapId, near) => {
    const key = mapsKeyNear(near, mapId);
    const where = `s3://${bucket}/${key}`;
    const bytes = await getObjectBytes(client, bucket, key, retry, { limits, name: 'maxMapsBytes' });
    if (bytes === null) throw new Error(`maps document ${where} not found (was it deleted, or written under another prefix?)`);
    const doc = checkMapId(parseMaps(decodeJsonGz(bytes, where, limits, 'maxMapsBytes'), where, limits), mapId, key);
    const sources = sourcesKeyNear(near, mapId);
    const at = `s3://${bucket}/${sources}`;
    opts.catalog?.add(mapId, doc, at, async () => {
      const bytes = await getObjectBytes(client, bucket, sources, retry, { limits, name: 'maxSourcesBytes' });
      return bytes === null ? null : { bytes, where: at };
    });
    return doc;
  });
  const item = (o: ListedObject, functionName: string): SourceItem => ({
    source: `s3://${bucket}/${o.key}`, functionName, time: o.time,
    // The listing's size first: an object over the bound is refused without downloading it.
    read: async () => {
      checkStoredSize(o.size, '', limits, 'maxInputBytes');
      return getObjectBytes(client, bucket, o.key, retry, { limits, name: 'maxInputBytes' });
    },
    loadMaps: (mapId) => load(mapId, o.key),
  });
  if (opts.functions && opts.functions.length > 0) {
    for (const f of opts.functions) {
      for await (const o of listObjects(client, bucket, `${prefix}${keySegment(f)}/shards/`, retry)) {
        if (COVERAGE_FILE.test(o.key)) yield item(o, keySegment(f));
      }
    }
    return;
  }
  // One flat listing of the prefix, filtered to `{function}/shards/*`, rather than a Delimiter listing
  // (some S3-compatible servers, s3rver among them, omit deeper common prefixes). The combiner's own
  // output (`{prefix}combined/…`, many HTML files per run) is stepped over: keys before it, then after it.
  const combined = combinedRoot(prefix);
  const ranges = [{ stopAt: combined }, { startAfter: `${combined.slice(0, -1)}0` }];
  for (const range of ranges) {
    for await (const o of listObjects(client, bucket, prefix, retry, range)) {
      const shard = parseShardKey(prefix, o.key);
      if (shard) yield item(o, shard.functionName);
    }
  }
}

// ---- directory -------------------------------------------------------------------------------------

/**
 * A build's sources document on disk: `sources/{mapId}.json.gz` beside the `maps/` folder its maps
 * came from (the S3 layout copied down), else any `sources/` folder under the directory given.
 */
function catalogDirSources(catalog: SourcesCatalog, doc: MapsDocument, mapId: string, near: string, mapsFile: string, sourcesFiles: ReadonlyMap<string, string>, limits: InputLimits): void {
  const name = `${keySegment(mapId)}.json.gz`;
  const candidates = [join(dirname(dirname(mapsFile)), 'sources', name), sourcesKeyNear(near, mapId), sourcesFiles.get(keySegment(mapId))]
    .filter((p): p is string => !!p);
  const first = candidates[0]!;
  catalog.add(mapId, doc, first, async () => {
    for (const file of new Set(candidates)) {
      const st = await stat(file).catch(() => null);
      if (!st?.isFile()) continue;
      checkStoredSize(st.size, file, limits, 'maxSourcesBytes');
      return { bytes: await readFile(file), where: file };
    }
    return null;
  });
}

export interface DirSourceOptions {
  /** A directory or a single file. */
  path: string;
  /** Directories never read (the report output, so a re-run does not count its own coverage-final.json). */
  exclude?: readonly string[];
  /** What one input may cost. @default DEFAULT_LIMITS */
  limits?: InputLimits;
  /** Told where each loaded build's sources document is, as for S3. */
  catalog?: SourcesCatalog;
}

/**
 * Not coverage inputs: nyc's process bookkeeping, dependencies, and `combined/` (the combiner's own
 * output, which `aws s3 sync` of the prefix copies down: reading its coverage-final.json again would
 * count everything twice).
 */
const SKIP_DIRS = new Set(['node_modules', '.git', 'processinfo', 'maps', 'sources', 'combined']);

/** Documents found in `maps/` and `sources/` folders, by id: found for a shard as in S3, else by name. */
interface Found { maps: Map<string, string>; sources: Map<string, string> }

async function walk(dir: string, exclude: ReadonlySet<string>, out: string[], found: Found, depth = 0): Promise<void> {
  if (depth > 32) return;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (exclude.has(resolve(full))) continue;
      if (e.name === 'maps' || e.name === 'sources') {
        const into = e.name === 'maps' ? found.maps : found.sources;
        for (const m of await readdir(full)) if (m.endsWith('.json.gz') || m.endsWith('.json')) into.set(m.replace(/\.json(\.gz)?$/, ''), join(full, m));
        continue;
      }
      if (SKIP_DIRS.has(e.name)) continue;
      await walk(full, exclude, out, found, depth + 1);
    } else if (e.isFile() && COVERAGE_FILE.test(e.name)) {
      out.push(full);
    }
  }
}

export async function* dirItems(opts: DirSourceOptions): AsyncGenerator<SourceItem> {
  const root = resolve(opts.path);
  const st = await stat(root).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--dir ${opts.path}: ${e.code === 'ENOENT' ? 'does not exist' : e.message}`, { cause: e });
  });
  const files: string[] = [];
  const found: Found = { maps: new Map(), sources: new Map() };
  const mapsFiles = found.maps;
  if (st.isDirectory()) await walk(root, new Set((opts.exclude ?? []).map((p) => resolve(p))), files, found);
  else files.push(root);
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const load = mapsCache(async (mapId, near) => {
    const name = `${keySegment(mapId)}.json.gz`;
    const sibling = join(dirname(dirname(near)), 'maps', name);
    const beside = join(dirname(near), 'maps', name);
    const candidates = [sibling, beside, mapsFiles.get(keySegment(mapId))].filter((p): p is string => !!p);
    for (const file of candidates) {
      const st = await stat(file).catch(() => null);
      if (!st?.isFile()) continue;
      checkStoredSize(st.size, file, limits, 'maxMapsBytes');
      const bytes = await readFile(file).catch(() => null);
      if (bytes) {
        const doc = checkMapId(parseMaps(decodeJsonGz(bytes, file, limits, 'maxMapsBytes'), file, limits), mapId, file);
        if (opts.catalog) catalogDirSources(opts.catalog, doc, mapId, near, file, found.sources, limits);
        return doc;
      }
    }
    throw new Error(`maps document ${mapId} not found (looked for ${sibling} and any maps/${keySegment(mapId)}.json.gz under ${opts.path})`);
  });
  // The size first, from the open file (the same syscalls readFileSync makes): a file over the bound
  // is refused without being read.
  const readBounded = (f: string): Buffer => {
    const fd = openSync(f, 'r');
    try {
      const size = fstatSync(fd).size;
      checkStoredSize(size, '', limits, 'maxInputBytes');
      const buf = Buffer.allocUnsafe(size);
      let n = 0;
      while (n < size) {
        const k = readSync(fd, buf, n, size - n, n);
        if (k === 0) break;
        n += k;
      }
      return n === size ? buf : buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  };
  for (const file of files) {
    const parts = file.split(sep);
    const i = parts.lastIndexOf('shards');
    const item: SourceItem = {
      source: file,
      ...(i > 0 ? { functionName: parts[i - 1]! } : {}),
      time: 0,
      mtime: () => stat(file).then((st) => st.mtimeMs, () => 0),
      // Read synchronously: shards are small, and 4 thread-pool round trips per file (open, fstat,
      // read, close) cost the main thread more than the read (measured: ~8% of a 1,000-shard combine).
      read: () => Promise.resolve(file).then(readBounded).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength), (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null;
        throw e;
      }),
      loadMaps: (mapId) => load(mapId, file),
    };
    yield item;
  }
}
