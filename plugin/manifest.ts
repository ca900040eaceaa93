/**
 * The build manifest (runtime/shard-format.ts `BuildManifest`) written next to the bundle: the static
 * maps of every instrumented file, so lean bundles carry counters only and the combiner can report
 * files that were bundled but never ran.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import {
  FORMAT_VERSION, MANIFEST_FORMAT, parseManifest, type BuildManifest, type FileMaps,
} from '../runtime/shard-format.js';

/**
 * Merges this build's files into an existing manifest (another entry point written into the same
 * directory). Files this plugin instance wrote on its previous build but no longer bundles are dropped,
 * so watch-mode rebuilds do not keep stale entries.
 */
export function mergeManifest(
  existing: BuildManifest | undefined,
  files: ReadonlyMap<string, FileMaps>,
  dropped: ReadonlySet<string>,
  generator: string,
  now: Date = new Date(),
): BuildManifest {
  const merged: Record<string, FileMaps> = {};
  for (const [k, v] of Object.entries(existing?.files ?? {})) if (!dropped.has(k)) merged[k] = v;
  for (const [k, v] of files) merged[k] = v;
  const sorted: Record<string, FileMaps> = {};
  for (const k of Object.keys(merged).sort()) sorted[k] = merged[k]!;
  return { format: MANIFEST_FORMAT, version: FORMAT_VERSION, createdAt: now.toISOString(), generator, files: sorted };
}

async function readExisting(file: string): Promise<BuildManifest | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseManifest(JSON.parse(text), file);
  } catch {
    // Not ours or from an unknown version: replaced, not merged.
    return undefined;
  }
}

// Builds of one process that share an output directory must not interleave read-merge-write.
const locks = new Map<string, Promise<unknown>>();

/** Reads, merges and atomically rewrites the manifest at `file`. Returns what was written. */
export function writeManifest(
  file: string,
  files: ReadonlyMap<string, FileMaps>,
  dropped: ReadonlySet<string>,
  generator: string,
): Promise<BuildManifest> {
  const previous = locks.get(file) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(async () => {
    const manifest = mergeManifest(await readExisting(file), files, dropped, generator);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, `${JSON.stringify(manifest)}\n`);
    await rename(tmp, file);
    return manifest;
  });
  locks.set(file, next);
  void next.finally(() => {
    if (locks.get(file) === next) locks.delete(file);
  }).catch(() => undefined);
  return next;
}
