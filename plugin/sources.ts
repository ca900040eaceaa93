/**
 * The sources document (contract/documents.ts `SourcesDocument`) the plugin writes beside the build
 * manifest with `sources: true`: the original text of every instrumented file, keyed by its Istanbul
 * hash, gzip'd already so that the layer uploads the bytes as they are when it writes the build's maps.
 *
 * Like the manifest it is merged when several builds write into one directory, and it keeps only the
 * texts of file versions the manifest still lists (a watch-mode rebuild leaves no stale text behind).
 * With `sources` off a document left in the directory by an earlier build is removed: the option is
 * the promise that no source text goes to the bucket.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { SOURCES_FILE, SOURCES_FORMAT, SOURCES_VERSION, parseSources, type SourcesDocument } from '../contract/format.js';
import { entryHashOf, readManifestEntries } from './manifest.js';
import { replaceFile } from './replace-file.js';

/** Istanbul hash → the text instrumented. */
export type SourceTexts = Map<string, string>;

/** The sources document of a manifest at `manifestFile`: beside it, in the same directory. */
export function sourcesPath(manifestFile: string): string {
  return join(dirname(manifestFile), SOURCES_FILE);
}

/** The document's bytes: keys sorted, so the same texts give the same bytes (and no rewrite). */
export function renderSources(texts: ReadonlyMap<string, string>): Buffer {
  const files: Record<string, string> = {};
  for (const h of [...texts.keys()].sort()) files[h] = texts.get(h)!;
  const doc: SourcesDocument = { format: SOURCES_FORMAT, version: SOURCES_VERSION, files };
  return gzipSync(JSON.stringify(doc), { level: 9 });
}

/** The texts of a sources document on disk; empty when there is none or it is not one (replaced). */
function readExisting(file: string): SourceTexts {
  try {
    const doc = parseSources(JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')), file);
    return new Map(Object.entries(doc.files));
  } catch {
    return new Map();
  }
}

/** The hashes the manifest at `manifestFile` lists now (after this build merged into it). */
export async function manifestHashes(manifestFile: string): Promise<Set<string>> {
  const out = new Set<string>();
  const entries = readManifestEntries(await readFile(manifestFile, 'utf8'), manifestFile);
  for (const json of entries.values()) {
    const h = entryHashOf(json);
    if (h !== undefined) out.add(h);
  }
  return out;
}

const locks = new Map<string, Promise<unknown>>();

/**
 * Merges this build's texts into the document beside the manifest and keeps the versions the
 * manifest lists (`keep`); rewrites it (atomically) only when its bytes change.
 */
export function writeSources(file: string, texts: ReadonlyMap<string, string>, keep: ReadonlySet<string>): Promise<boolean> {
  const previous = locks.get(file) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(async (): Promise<boolean> => {
    const existing = readExisting(file);
    const merged: SourceTexts = new Map();
    for (const [h, t] of existing) if (keep.has(h)) merged.set(h, t);
    for (const [h, t] of texts) if (keep.has(h)) merged.set(h, t);
    const bytes = renderSources(merged);
    const before = await readFile(file).catch(() => undefined);
    if (before !== undefined && before.equals(bytes)) return false;
    await replaceFile(file, bytes);
    return true;
  });
  locks.set(file, next);
  void next.finally(() => { if (locks.get(file) === next) locks.delete(file); }).catch(() => undefined);
  return next;
}

/** With `sources` off: a document an earlier build left beside the manifest goes (true when one did). */
export async function removeSources(file: string): Promise<boolean> {
  try {
    await rm(file);
    return true;
  } catch {
    return false;
  }
}
