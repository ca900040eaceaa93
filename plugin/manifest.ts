/**
 * The build manifest (contract/documents.ts `BuildManifest`) written next to the bundle: the static
 * maps of every instrumented file, so lean bundles carry counters only and the combiner can report
 * files that were bundled but never ran.
 *
 * Entries travel as JSON text (a cache hit never parses its maps) and the file is written one entry a
 * line, so merging into a manifest this plugin wrote reads keys without parsing the maps. It is plain
 * JSON all the same; any other valid manifest is parsed and merged too.
 */
import { randomBytes } from 'node:crypto';
import { statSync, type BigIntStats } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseManifest } from '../contract/format.js';
import { entryHash, readManifestLines, renderManifest, writtenBy } from '../contract/manifest.js';

/** Coverage key -> JSON text of that file's FileMaps. */
export type ManifestEntries = Map<string, string>;

export { renderManifest };

/** The Istanbul hash an entry's maps JSON names (read from its start when the plugin wrote it). */
export function entryHashOf(json: string): string | undefined {
  const h = entryHash(json) ?? (JSON.parse(json) as { hash?: unknown }).hash;
  return typeof h === 'string' ? h : undefined;
}

/** Reads the entries of a manifest: fast for our own line layout, by JSON.parse otherwise. */
export function readManifestEntries(text: string, what: string): ManifestEntries {
  return readManifestLines(text) ?? parsedEntries(text, what);
}

function parsedEntries(text: string, what: string): ManifestEntries {
  const manifest = parseManifest(JSON.parse(text), what);
  return new Map(Object.entries(manifest.files).map(([k, v]) => [k, JSON.stringify(v)]));
}

/**
 * Merges this build's files into an existing manifest's (another entry point written into the same
 * directory). Files this plugin instance wrote on its previous build but no longer bundles are
 * dropped, so watch-mode rebuilds keep no stale entries, and so are files that no longer exist
 * (deleted or renamed since an older build wrote into the same directory).
 */
export function mergeEntries(
  existing: ReadonlyMap<string, string> | undefined,
  files: ReadonlyMap<string, string>,
  dropped: ReadonlySet<string>,
  stillExists: (key: string) => boolean = () => true,
): ManifestEntries {
  const merged: ManifestEntries = new Map();
  for (const [k, v] of existing ?? []) if (!dropped.has(k) && (files.has(k) || stillExists(k))) merged.set(k, v);
  for (const [k, v] of files) merged.set(k, v);
  return merged;
}

/** Same files with the same maps text (order aside). */
export function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

interface Existing {
  entries: ManifestEntries;
  /** Written in our line layout by this very generator: the same entries render the same file. */
  current: boolean;
  signature: string;
}

/**
 * Identifies one version of a file without reading it: path, device, inode, size and mtime in ns.
 * Manifests are only ever replaced by rename (a new inode), so an equal signature is the same text.
 */
export function fileSignature(file: string, st: BigIntStats): string {
  return JSON.stringify([file, String(st.dev), String(st.ino), String(st.size), String(st.mtimeNs)]);
}

/** The signature of the manifest on disk now; undefined when there is none. */
export function manifestSignature(file: string): string | undefined {
  try {
    return fileSignature(file, statSync(file, { bigint: true }));
  } catch {
    return undefined;
  }
}

async function readExisting(file: string, generator: string): Promise<Existing | undefined> {
  let text: string;
  let signature: string;
  try {
    // Stat and read through one handle: the signature is that of the text read.
    const handle = await open(file, 'r');
    try {
      signature = fileSignature(file, await handle.stat({ bigint: true }));
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  try {
    const first = text.slice(0, text.indexOf('\n'));
    const current = writtenBy(first, generator);
    return { entries: readManifestEntries(text, file), current, signature };
  } catch {
    // Not a manifest, or from an unknown version: replaced, not merged.
    return undefined;
  }
}

export interface ManifestWrite {
  written: boolean;
  /** The entries the manifest lists now (this build's merged into any other build's). */
  entries: ManifestEntries;
  /** The manifest's signature when it now lists exactly `files` (no other build's), else undefined. */
  signature: string | undefined;
}

// Builds of one process that share an output directory must not interleave read-merge-write.
const locks = new Map<string, Promise<unknown>>();

/**
 * Reads, merges and atomically rewrites the manifest at `file`. A manifest that already lists exactly
 * these files and maps is left as it is (its `createdAt` stays the time that content was first
 * written): an unchanged warm build neither renders nor writes it (half a megabyte for rxjs).
 */
export function writeManifest(
  file: string,
  files: ReadonlyMap<string, string>,
  dropped: ReadonlySet<string>,
  generator: string,
  stillExists?: (key: string) => boolean,
): Promise<ManifestWrite> {
  const previous = locks.get(file) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(async (): Promise<ManifestWrite> => {
    const existing = await readExisting(file, generator);
    const merged = mergeEntries(existing?.entries, files, dropped, stillExists);
    const onlyThese = merged.size === files.size;
    if (existing?.current && sameEntries(existing.entries, merged)) return { written: false, entries: merged, signature: onlyThese ? existing.signature : undefined };
    const text = renderManifest(merged, generator);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    // The rename keeps inode and mtime: the temp file's signature is the manifest's.
    const handle = await open(tmp, 'w');
    let st: BigIntStats;
    try {
      await handle.writeFile(text);
      st = await handle.stat({ bigint: true });
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    return { written: true, entries: merged, signature: onlyThese ? fileSignature(file, st) : undefined };
  });
  locks.set(file, next);
  void next
    .finally(() => {
      if (locks.get(file) === next) locks.delete(file);
    })
    .catch(() => undefined);
  return next;
}
