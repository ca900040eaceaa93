/**
 * The maps document of the manifest's whole file set, gzip'd and written beside the manifest under
 * its map id (contract/documents.ts `mapsFileName`). The container that writes a build's maps to S3
 * sends these bytes as they are when its `__coverage__` has exactly those files (the same id), instead
 * of reading the manifest and joining and compressing a megabyte of maps inside the function. A
 * document of an earlier build in the directory is removed; where none matches (another build merged
 * into the manifest since, the file not shipped), the layer builds the document from the manifest.
 */
import { readdirSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAPS_FILE_PATTERN, computeMapId, mapsFileName, renderMapsDocument } from '../contract/format.js';
import { entryHashOf } from './manifest.js';
import { replaceFile } from './replace-file.js';

/** The map id of `entries` (key → FileMaps JSON): the one a container with exactly these files computes. */
function mapIdOfEntries(entries: ReadonlyMap<string, string>): string {
  return computeMapId([...entries].map(([path, json]) => ({ path, hash: entryHashOf(json) ?? '' })));
}

/** The gzip'd document of `entries` and the file name it goes under (level 9: it is made once a build). */
export function renderMapsFile(entries: ReadonlyMap<string, string>, mapId = mapIdOfEntries(entries)): { name: string; bytes: Buffer } {
  return { name: mapsFileName(mapId), bytes: gzipSync(renderMapsDocument(mapId, entries), { level: 9 }) };
}

/** Whether the directory of `manifestFile` holds a maps document (of any build). */
export function hasMapsFile(manifestFile: string): boolean {
  try {
    return readdirSync(dirname(manifestFile)).some((n) => MAPS_FILE_PATTERN.test(n));
  } catch {
    return false;
  }
}

/**
 * Writes the maps document of the manifest's entries beside it (atomically, by rename), unless the
 * one of that id is there already, and removes any other build's. Returns the file written, if any.
 */
export async function writeMapsFile(manifestFile: string, entries: ReadonlyMap<string, string>): Promise<string | undefined> {
  const dir = dirname(manifestFile);
  const mapId = mapIdOfEntries(entries);
  const name = mapsFileName(mapId);
  const file = join(dir, name);
  let written: string | undefined;
  if (!(await stat(file).then(() => true, () => false))) {
    await replaceFile(file, renderMapsFile(entries, mapId).bytes);
    written = file;
  }
  for (const other of readdirSync(dir)) {
    if (other !== name && MAPS_FILE_PATTERN.test(other)) await rm(join(dir, other), { force: true });
  }
  return written;
}
