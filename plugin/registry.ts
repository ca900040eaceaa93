/**
 * Maps of files instrumented by `instrument()` from another plugin's onLoad. The coverage plugin of
 * the same build picks up the ones esbuild actually bundled (from the metafile) for the manifest.
 */
import { resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import type { FileMaps } from '../contract/format.js';

const byAbsolutePath = new Map<string, FileMaps>();

export function recordChained(absPath: string, maps: FileMaps): void {
  byAbsolutePath.set(absPath, maps);
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
