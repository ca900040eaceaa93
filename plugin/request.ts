/**
 * The per-file instrument request: built once per file (instrumentSpec), sent as it is to the worker
 * or the main thread, and the cache key derived from the whole of it (cacheKey).
 *
 * Why one object: the output of a file used to depend on options threaded by hand through the plugin,
 * the worker, the instrument step and the cache key, and an option missing from the key gave stale
 * cache hits without a word. Now whatever decides the output lives in `InstrumentSpec`; the
 * instrument step takes its options from there only; and the key hashes every field of it, so a field
 * added to the spec is in the key by construction (test/plugin/request.test.ts changes each field
 * alone and asserts that the key, and the output where it can, changes).
 *
 * Light: no Babel here (the cache-hit path computes keys and never loads instrument-core.ts).
 */
import { hash } from 'node:crypto';
import type { CodeLoader } from './instrumented.js';
import type { DecoratorsFlavor } from './options.js';

/**
 * Everything that decides one file's instrumented output. Code constants of the instrument step
 * (Babel options, the lean helper, the coverage global) are covered by `tools`, which names our own
 * version and the cache format: change one of those and bump the format in versions.ts.
 */
export interface InstrumentSpec {
  /** lambda-coverage, istanbul-lib-instrument and @babel/core versions and the cache format (versions.ts). */
  tools: string;
  /** sha256 (hex) of the file's bytes: the text instrumented is exactly these bytes as UTF-8. */
  sourceHash: string;
  /**
   * Coverage key and Istanbul `path`: relative to the project root, `/` separators. Its last segment
   * is the source map's `sources` entry, so the absolute path is never needed for the output.
   */
  key: string;
  /** How the text parses (with `decorators`, it picks the Babel parser plugins). */
  loader: CodeLoader;
  /** Decorator syntax tried first; a parse failure is retried with the other flavor. */
  decorators: DecoratorsFlavor;
  lean: boolean;
  ignoreClassMethods: readonly string[];
  /** Produce the source map to the original text (a quarter of Babel's time; skipped when the build writes none). */
  sourceMap: boolean;
}

/** One file to instrument, as the worker gets it. */
export interface InstrumentRequest {
  spec: InstrumentSpec;
  /** The original text of the file (its bytes are `spec.sourceHash`). */
  code: string;
  /**
   * Absolute path, for messages only. Not part of the output, so not of the key: a cache restored
   * into another checkout directory (CI) still hits.
   */
  filename: string;
}

/**
 * What the build (or one `instrument()` call) says for every file. Options that decide only what is
 * written beside the bundle, not a file's instrumented output, are not here and so not in the key:
 * `sources` (the source texts written beside the manifest) and `summary`.
 */
export interface SpecSettings {
  tools: string;
  lean: boolean;
  ignoreClassMethods: readonly string[];
  sourceMap: boolean;
}

/** What one file says. */
export interface SpecFile {
  key: string;
  loader: CodeLoader;
  decorators: DecoratorsFlavor;
  /** The file's bytes, or its text (hashed as UTF-8: the same digest as its bytes). */
  source: string | Uint8Array;
}

/** The one place a file's spec is made, for the plugin and for `instrument()` alike. */
export function instrumentSpec(settings: SpecSettings, file: SpecFile): InstrumentSpec {
  return {
    tools: settings.tools,
    sourceHash: hash('sha256', file.source),
    key: file.key,
    loader: file.loader,
    decorators: file.decorators,
    lean: settings.lean,
    ignoreClassMethods: settings.ignoreClassMethods,
    sourceMap: settings.sourceMap,
  };
}

/**
 * JSON with object keys sorted: equal specs give equal text whatever order their fields were set in.
 * It refuses what JSON.stringify would drop or bend without a word (undefined, a function, NaN, a
 * Map): such a field would silently not be in the key.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isFinite(value)) return JSON.stringify(value);
  // Plain loops: this runs for every file of every warm build (map/join cost a third more on rxjs).
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    let out = '{';
    for (let i = 0; i < keys.length; i++) out += `${i === 0 ? '' : ','}${JSON.stringify(keys[i])}:${canonicalJson(o[keys[i]!])}`;
    return `${out}}`;
  }
  throw new TypeError(`lambda-coverage: an instrument spec field cannot be keyed (${String(value)}): use JSON data (strings, numbers, booleans, arrays, plain objects)`);
}

/** The cache key of a file: a hash of its whole spec, and nothing else. */
export function cacheKey(spec: InstrumentSpec): string {
  return hash('sha256', canonicalJson(spec));
}
