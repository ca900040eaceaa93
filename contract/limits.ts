/**
 * What a reader accepts from untrusted input (everything read back from S3 or a directory): the bounds
 * of one input, the path rules of the contract, and the names and hashes a report may print. Pure.
 */
import { ShardFormatError } from './errors.js';

/**
 * What one input may cost a reader. Everything read back from S3 or a directory is untrusted (any role
 * that can write under the prefix can write it), so each input is bounded before it is inflated, parsed
 * or merged; over a bound it is refused, named, and the combine goes on. The defaults fit real fleets
 * with room to spare: a 321-file function's shard is 2.4 KB gzip'd, its maps document about 1 MB.
 */
export interface InputLimits {
  /** Largest shard or plain coverage file, as stored and inflated (bytes). @default 32 MiB */
  maxInputBytes: number;
  /** Largest maps document or build manifest, as stored and inflated (bytes). @default 256 MiB */
  maxMapsBytes: number;
  /** Largest sources document (the source text of a build's files), as stored and inflated (bytes). @default 128 MiB */
  maxSourcesBytes: number;
  /** Files in one shard, maps document, manifest or coverage file. @default 50,000 */
  maxFiles: number;
  /** Counters of one file (statements + functions + branch arms). @default 1,000,000 */
  maxCounters: number;
  /** Characters of one file path. @default 1,024 */
  maxPathLength: number;
  /** Named tests in one shard (per-test coverage, shard version 3). @default 10,000 */
  maxTests: number;
  /** Largest diff the combiner's --diff reads (bytes). @default 32 MiB */
  maxDiffBytes: number;
}

export const DEFAULT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxInputBytes: 32 * 1024 * 1024,
  maxMapsBytes: 256 * 1024 * 1024,
  maxSourcesBytes: 128 * 1024 * 1024,
  maxFiles: 50_000,
  maxCounters: 1_000_000,
  maxPathLength: 1024,
  maxTests: 10_000,
  maxDiffBytes: 32 * 1024 * 1024,
});

/** The combiner's flag for each bound, named in every message about it. */
export const LIMIT_FLAGS: Readonly<Record<keyof InputLimits, string>> = {
  maxInputBytes: '--max-shard-mb', maxMapsBytes: '--max-maps-mb', maxSourcesBytes: '--max-sources-mb', maxFiles: '--max-files',
  maxCounters: '--max-counters', maxPathLength: '--max-path-length', maxTests: '--max-tests', maxDiffBytes: '--max-diff-mb',
};

/** The bounds that are sizes in bytes (of one input, as stored and inflated). */
export type ByteBound = 'maxInputBytes' | 'maxMapsBytes' | 'maxSourcesBytes' | 'maxDiffBytes';

/** The message for an input over one of its bounds: what was found, the bound, and the flag. */
export function boundMessage(what: string, name: keyof InputLimits, limits: InputLimits, found?: string): string {
  const n = limits[name];
  const bytes = name === 'maxInputBytes' || name === 'maxMapsBytes' || name === 'maxSourcesBytes' || name === 'maxDiffBytes';
  const bound = !bytes ? String(n) : n < 1048576 ? `${n} bytes` : `${+(n / 1048576).toFixed(3)} MiB`;
  return `${what ? `${what}: ` : ''}${found ? `${found}, ` : ''}over the bound of ${bound} (raise it with ${LIMIT_FLAGS[name]} if this input is genuine)`;
}

export function overBound(what: string, name: keyof InputLimits, limits: InputLimits, found?: string): never {
  throw new ShardFormatError(boundMessage(what, name, limits, found));
}

/** Deeper than any document of the contract or of Istanbul (about 9 levels): refused before parsing. */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses JSON text nested deeper than MAX_JSON_DEPTH before JSON.parse builds it: a few bytes of
 * `[[[[…` would otherwise become a million objects. One pass over the bytes, strings skipped.
 */
export function checkJsonDepth(raw: Uint8Array, what: string): void {
  let depth = 0;
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw[i]!;
    if (c === 0x22) {
      // A string, skipped in its own loop (most of a maps document's bytes are keys and names).
      for (i++; i < n; i++) {
        const d = raw[i]!;
        if (d === 0x22) break;
        if (d === 0x5c) i++;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new ShardFormatError(`${what}: nested deeper than ${MAX_JSON_DEPTH} levels; no coverage document is`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}

/** Throws when an object's stored size is over its bound (checked from a listing before it is read). */
export function checkStoredSize(bytes: number, what: string, limits: InputLimits, bound: ByteBound): void {
  if (bytes > limits[bound]) overBound(what, bound, limits, `${bytes} bytes stored`);
}

/**
 * Characters no file path of a project needs and that would change what a report means: C0/C1
 * controls (a newline starts a new lcov record, escapes rewrite a terminal), the markup characters
 * istanbul-reports does not escape everywhere (breadcrumbs, XML attributes, html-spa's inline
 * script), line separators, and bidirectional overrides (a name that reads as another).
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f<>"\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

/**
 * Why `p` is not a path of the contract, or undefined when it is one: a relative POSIX path inside
 * the project (no leading `/`, drive letter or backslash, no `.`, `..` or empty segment), of safe
 * characters, at most `maxLength` long. Shards, maps documents and manifests carry only such paths.
 */
export function projectPathProblem(p: unknown, maxLength: number = DEFAULT_LIMITS.maxPathLength): string | undefined {
  if (typeof p !== 'string' || p === '') return 'is empty or not a string';
  if (p.length > maxLength) return `is ${p.length} characters long, over the bound of ${maxLength} (raise it with ${LIMIT_FLAGS.maxPathLength})`;
  if (UNSAFE_CHARS.test(p)) return 'contains a control, markup or direction-changing character';
  if (p.includes('\\')) return 'contains a backslash (paths use /)';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'is absolute (paths are relative to the project root)';
  for (const seg of p.split('/')) {
    // `__proto__` as a key of a plain object would set its prototype instead of adding an entry.
    if (seg === '__proto__') return 'has a "__proto__" segment';
    if (seg === '' || seg === '.' || seg === '..') return `has a ${seg === '' ? 'empty' : `"${seg}"`} segment (paths stay inside the project)`;
  }
  if (LONE_SURROGATE.test(p)) return 'is not well-formed Unicode';
  return undefined;
}

/** A file path inside a document, quoted for a message (cut short: it is untrusted). */
export function quotePath(p: string): string {
  return JSON.stringify(p.length > 120 ? `${p.slice(0, 120)}…` : p);
}

/** A name a report prints (function names, branch types): bounded, and no line or markup breaks. */
export function isSafeName(s: unknown, maxLength: number): s is string {
  return typeof s === 'string' && s.length <= maxLength && !UNSAFE_CHARS.test(s);
}

/** Istanbul's hash of a file (hex, or base64 from other tools): what messages and reports may print. */
export function isHash(h: unknown): h is string {
  return typeof h === 'string' && /^[A-Za-z0-9+/=._:-]{1,256}$/.test(h);
}
