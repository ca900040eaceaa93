/**
 * Finds and reads the build manifest (static maps of lean bundles), per the contract:
 * COVERAGE_MANIFEST if set, else MANIFEST_FILE in the handler file's directory and each parent up to
 * LAMBDA_TASK_ROOT, else in LAMBDA_TASK_ROOT.
 */
import { dirname, join, relative, resolve, sep } from 'node:path';
import { MANIFEST_FILE, SOURCES_FILE, parseManifest, type BuildManifest } from '../contract/format.js';
import { entryHash, readManifestLines } from '../contract/manifest.js';

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

/** One manifest entry kept as JSON text: the maps are never parsed on the way to S3. */
export interface ManifestEntry { hash: string; json: string }

/**
 * Reads a manifest as key -> { hash, JSON text }. In the plugin's line layout (contract/manifest.ts)
 * only keys and hashes are looked at (a megabyte of maps costs no parse and no heap of objects); any
 * other valid manifest is parsed and validated.
 */
export function readManifestEntries(path: string): Map<string, ManifestEntry> {
  const text = readFileSync(path, 'utf8');
  const lines = readManifestLines(text);
  if (lines !== undefined) {
    const out = new Map<string, ManifestEntry>();
    for (const [key, json] of lines) {
      const hash = entryHash(json);
      if (hash === undefined) break;
      out.set(key, { hash, json });
    }
    if (out.size === lines.size) return out;
  }
  const manifest = parseManifest(JSON.parse(text), path);
  return new Map(Object.entries(manifest.files).map(([k, v]) => [k, { hash: v.hash, json: JSON.stringify({ ...v, path: k }) }]));
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
