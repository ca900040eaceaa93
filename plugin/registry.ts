/**
 * Maps of files instrumented by `instrument()` from another plugin's onLoad. The coverage plugin of
 * the same build picks up the ones esbuild actually bundled (from the metafile) for the manifest.
 */
import { resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import type { FileMaps } from '../contract/format.js';

const byAbsolutePath = new Map<string, FileMaps>();
/** The text each chained file was instrumented as (what the other plugin passed), for `sources: true`. */
const textByAbsolutePath = new Map<string, string>();

export function recordChained(absPath: string, maps: FileMaps, code?: string): void {
  byAbsolutePath.set(absPath, maps);
  if (code !== undefined) textByAbsolutePath.set(absPath, code);
}

/** Istanbul hash → text of the chained files of this build (esbuild's metafile inputs) recorded with their text. */
export function chainedTexts(metafile: Metafile | undefined, buildCwd: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!metafile || textByAbsolutePath.size === 0) return out;
  for (const input of Object.keys(metafile.inputs)) {
    const abs = resolve(buildCwd, input);
    const maps = byAbsolutePath.get(abs);
    const text = textByAbsolutePath.get(abs);
    if (maps && text !== undefined) out.set(maps.hash, text);
  }
  return out;
}

/** The recorded maps of every file-namespace input of this build. */
export function chainedMaps(metafile: Metafile | undefined, buildCwd: string): FileMaps[] {
  if (!metafile || byAbsolutePath.size === 0) return [];
  const out: FileMaps[] = [];
  for (const input of Object.keys(metafile.inputs)) {
    if (/^[a-z][\w-]*:/i.test(input) && !/^[a-z]:[\\/]/i.test(input)) continue; // other namespaces
    const maps = byAbsolutePath.get(resolve(buildCwd, input));
    if (maps) out.push(maps);
  }
  return out;
}
