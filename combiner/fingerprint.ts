/** Identity of a file version by its static maps (see merge.ts). */
import { createHash } from 'node:crypto';
import type { FileMaps } from '../contract/format.js';

const fingerprints = new WeakMap<object, string>();

/** Two versions with identical maps are the same code as far as counters go: summing them is exact. */
export function mapsFingerprint(maps: Pick<FileMaps, 'statementMap' | 'fnMap' | 'branchMap'>): string {
  let fp = fingerprints.get(maps);
  if (fp === undefined) {
    const h = createHash('sha1');
    h.update(JSON.stringify(maps.statementMap)).update('\0').update(JSON.stringify(maps.fnMap)).update('\0');
    h.update(JSON.stringify(maps.branchMap));
    fp = h.digest('hex');
    fingerprints.set(maps, fp);
  }
  return fp;
}
