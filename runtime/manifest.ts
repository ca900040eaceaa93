/**
 * Finds and reads the build manifest (static maps of lean bundles), per the contract:
 * COVERAGE_MANIFEST if set, else MANIFEST_FILE in the handler file's directory and each parent up to
 * LAMBDA_TASK_ROOT, else in LAMBDA_TASK_ROOT.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { MANIFEST_FILE, parseManifest, type BuildManifest } from './shard-format.js';

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
