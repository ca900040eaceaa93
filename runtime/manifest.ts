/**
 * Finds and reads the build manifest (static maps of lean bundles), per the contract:
 * COVERAGE_MANIFEST if set, else MANIFEST_FILE in the handler file's directory and each parent up to
 * LAMBDA_TASK_ROOT, else in LAMBDA_TASK_ROOT.
 */
import { dirname, join, relative, resolve, sep } from 'node:path';
import { MANIFEST_FILE, SOURCES_FILE, mapsFileName, parseManifest, type BuildManifest } from '../contract/format.js';
import { readManifestIndex } from '../contract/manifest.js';

import { fs } from './fs.js';

const { existsSync, readFileSync } = fs;

/** Directory of the handler module named by a Lambda handler string (`dir/sub/file.handler`). */
export function handlerDir(taskRoot: string, handler: string | undefined): string {
  if (handler === undefined || handler === '') return taskRoot;
  const slash = handler.lastIndexOf('/');
  return slash < 0 ? taskRoot : resolve(taskRoot, handler.slice(0, slash));
}

/** Candidate paths, nearest first; pure. */
export function manifestCandidates(taskRoot: string, startDir: string): string[] {
  const out: string[] = [];
  const root = resolve(taskRoot);
  let dir = resolve(startDir);
  const inside = (d: string) => { const r = relative(root, d); return r === '' || (!r.startsWith('..') && !r.startsWith(sep)); };
  for (let i = 0; i < 64 && inside(dir); i++) {
    out.push(join(dir, MANIFEST_FILE));
    if (dir === root) break;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const atRoot = join(root, MANIFEST_FILE);
  if (!out.includes(atRoot)) out.push(atRoot);
  return out;
}

export function findManifest(explicit: string | undefined, taskRoot: string, startDir: string): string | undefined {
  if (explicit !== undefined) return resolve(taskRoot, explicit);
  return manifestCandidates(taskRoot, startDir).find((p) => existsSync(p));
}

export function readManifest(path: string): BuildManifest {
  return parseManifest(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** One manifest entry kept as the bytes of its JSON: the maps are never parsed or decoded on the way to S3. */
export interface ManifestEntry { hash: string; json: Buffer }

/**
 * Reads a manifest as key -> { hash, JSON bytes }. In the plugin's line layout (contract/manifest.ts)
 * only keys and hashes are decoded, and each entry is a view of the file's bytes (a megabyte of maps
 * costs no parse, no strings and no copy); any other valid manifest is parsed and validated.
 */
export function readManifestEntries(path: string): Map<string, ManifestEntry> {
  const bytes = readFileSync(path);
  const index = readManifestIndex(bytes);
  if (index !== undefined) {
    const out = new Map<string, ManifestEntry>();
    for (const [key, { hash, start, end }] of index) out.set(key, { hash, json: bytes.subarray(start, end) });
    return out;
  }
  const manifest = parseManifest(JSON.parse(bytes.toString('utf8')), path);
  return new Map(Object.entries(manifest.files).map(([k, v]) => [k, { hash: v.hash, json: Buffer.from(JSON.stringify({ ...v, path: k })) }]));
}

/**
 * The gzip'd maps document the plugin wrote beside the manifest for the map id `mapId` (the manifest's
 * whole file set), as its bytes; undefined when there is none of that id. Read by the flush that writes
 * the build's maps: sent as it is, the manifest then is not read at all.
 */
export function readMapsBeside(manifestPath: string, mapId: string): Buffer | undefined {
  try {
    return readFileSync(join(dirname(manifestPath), mapsFileName(mapId)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The sources document the plugin wrote beside the manifest (`sources: true`), as its bytes (gzip'd
 * JSON, uploaded as they are); undefined when the build has none. Read only by the flush that writes
 * the build's maps, never at cold start.
 */
export function readSourcesBeside(manifestPath: string): Buffer | undefined {
  try {
    return readFileSync(join(dirname(manifestPath), SOURCES_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
