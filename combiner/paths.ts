/**
 * Coverage file paths: normalising, `--path-map`, detecting a build machine's prefix, and keeping
 * untrusted names (S3 keys, paths inside coverage data) from escaping a local directory. Pure.
 */
import { posix, relative, resolve, sep } from 'node:path';
import { quotePath } from '../contract/format.js';

export interface PathMapping {
  /** Prefix as it appears in the coverage data, e.g. `/home/runner/work/app`. */
  from: string;
  /** What it becomes, e.g. `.` (the project root). */
  to: string;
}

export class PathMapError extends Error {
  override name = 'PathMapError';
}

/** `--path-map /build/dir=.` → `{ from: '/build/dir', to: '.' }`. */
export function parsePathMap(spec: string): PathMapping {
  const i = spec.lastIndexOf('=');
  if (i <= 0) throw new PathMapError(`--path-map "${spec}" must look like FROM=TO, e.g. /build/dir=.`);
  const from = toSlashes(spec.slice(0, i)).replace(/\/+$/, '');
  const to = toSlashes(spec.slice(i + 1));
  if (from === '') throw new PathMapError(`--path-map "${spec}": FROM may not be empty or "/"`);
  return { from, to: to === '' ? '.' : to };
}

function toSlashes(p: string): string {
  return p.replace(/\\/g, '/');
}

/**
 * One spelling per file: `/` separators, no `.`/`..` segments inside, no leading `./`.
 * Windows drive paths (`C:\x`) become `C:/x`. Returns null for a name that cannot be a file path.
 */
export function normalizeCoveragePath(p: string): string | null {
  if (typeof p !== 'string' || p === '' || p.includes('\0')) return null;
  const n = posix.normalize(toSlashes(p));
  if (n === '.' || n === '/' || n.endsWith('/')) return null;
  return n.startsWith('./') ? n.slice(2) : n;
}

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:\//.test(p);
}

/** Applies the longest matching `from` (at a path-segment boundary). */
export function applyPathMap(p: string, maps: readonly PathMapping[]): string {
  let best: PathMapping | undefined;
  for (const m of maps) {
    if ((p === m.from || p.startsWith(`${m.from}/`)) && (!best || m.from.length > best.from.length)) best = m;
  }
  if (!best) return p;
  const rest = p.slice(best.from.length).replace(/^\/+/, '');
  return normalizeCoveragePath(best.to === '.' ? rest : `${best.to}/${rest}`) ?? p;
}

export type PrefixDetection =
  | { kind: 'none' }
  | { kind: 'detected'; prefix: string; matched: number }
  | { kind: 'ambiguous'; prefixes: string[] };

/**
 * Absolute paths (nyc, vitest, a CI agent) beside relative ones (our shards): when every absolute path
 * that ends with a known relative path agrees on one prefix, that prefix is the build machine's root.
 */
export function detectBuildPrefix(absolute: Iterable<string>, relativeKnown: ReadonlySet<string>): PrefixDetection {
  const counts = new Map<string, number>();
  for (const a of absolute) {
    let bestRel: string | undefined;
    // Walk the suffixes of `a` at segment boundaries, longest known relative path wins.
    for (let i = a.indexOf('/', 1); i !== -1; i = a.indexOf('/', i + 1)) {
      const rel = a.slice(i + 1);
      if (relativeKnown.has(rel)) { bestRel = rel; break; }
    }
    if (bestRel !== undefined) {
      const prefix = a.slice(0, a.length - bestRel.length - 1);
      counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
    }
  }
  if (counts.size === 0) return { kind: 'none' };
  if (counts.size > 1) return { kind: 'ambiguous', prefixes: [...counts.keys()].sort() };
  const [prefix, matched] = [...counts.entries()][0]!;
  return { kind: 'detected', prefix, matched };
}

/** Is `b` the same file as `a` spelled differently (a suffix at a segment boundary, or only case differs)? */
export function sameFileSpelling(a: string, b: string): boolean {
  if (a === b) return false;
  if (a.toLowerCase() === b.toLowerCase()) return true;
  return a.endsWith(`/${b}`) || b.endsWith(`/${a}`);
}

export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

/**
 * Joins an untrusted relative name (an S3 key, a path from coverage data) under `root`, refusing any
 * name that would land outside it (`../../x`, absolute paths, NUL).
 */
export function safeJoin(root: string, name: string): string {
  const clean = toSlashes(name);
  if (clean.includes('\0') || isAbsolutePath(clean)) throw new UnsafePathError(`refusing to write "${name}": not a relative path`);
  const base = resolve(root);
  const target = resolve(base, ...clean.split('/'));
  const rel = relative(base, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || resolve(base, rel) !== target) {
    throw new UnsafePathError(`refusing to write "${name}": it would land outside ${base}`);
  }
  return target;
}

/** A local file under `root`, as an S3 key suffix (always `/`). */
export function toKeySuffix(root: string, file: string): string {
  return relative(resolve(root), resolve(file)).split(sep).join('/');
}

/** Throws unless `target` is `root` itself or inside it. */
export function assertInside(root: string, target: string): string {
  const base = resolve(root);
  const t = resolve(base, target);
  const rel = relative(base, t);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolutePath(rel.split(sep).join('/'))) {
    throw new UnsafePathError(`refusing to write ${t}: it is outside ${base}`);
  }
  return t;
}

/** `pass --path-map /build/dir=.` when an absolute path ends with a path the project has. */
export function pathMapHint(p: string, inside: ReadonlySet<string>): string | undefined {
  if (!isAbsolutePath(p)) return undefined;
  for (let i = p.indexOf('/', 1); i !== -1; i = p.indexOf('/', i + 1)) {
    if (inside.has(p.slice(i + 1))) return `pass --path-map ${p.slice(0, i)}=. to merge it with ${quotePath(p.slice(i + 1))}`;
  }
  return undefined;
}
