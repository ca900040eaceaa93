/**
 * The plugin's one options interface and its validation. Pure: reads no files (the environment
 * is passed in), so it can be tested without a build.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { COVERAGE_GLOBAL } from '../runtime/coverage-global.js';
import { isCoverageEnabled } from '../runtime/env.js';

/** Options of `coverageInstrument()`. Every field is optional. */
export interface CoverageInstrumentOptions {
  /**
   * Instrument at all. When not enabled the plugin registers no callbacks and the build output is
   * byte-identical to a build without it.
   * @default true when COVERAGE_ENABLED is a true flag value (`1`, `true`, `yes`, `on`, …; runtime/env.ts)
   */
  enabled?: boolean;
  /**
   * Globs (nyc / test-exclude meaning, relative to `cwd`) of files to instrument. Empty or unset
   * means every file with one of `extensions` under `cwd`.
   * @default []
   */
  include?: string | string[];
  /**
   * Globs of files never to instrument. Replaces the default list (tests, `coverage/`, tool configs);
   * `node_modules` and `.d.ts` files are excluded whatever this says.
   * @default DEFAULT_EXCLUDE
   */
  exclude?: string | string[];
  /**
   * File extensions that can be instrumented.
   * @default ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs']
   */
  extensions?: string[];
  /**
   * Directory coverage keys are relative to, and globs are matched against.
   * @default esbuild's absWorkingDir, else process.cwd()
   */
  cwd?: string;
  /**
   * Lean bundle: register only counters (`{path, hash, s, f, b}`) in the coverage variable and
   * write the static maps to the build manifest next to the output. `false` = classic Istanbul
   * FileCoverage objects in the bundle (the manifest is still written).
   * @default true
   */
  lean?: boolean;
  /**
   * Decorator syntax to parse: `'auto'` reads `experimentalDecorators` from esbuild's tsconfig
   * (tsconfigRaw, tsconfig, else the nearest tsconfig.json of each file) and picks Babel's
   * `decorators-legacy` or `decorators`; a file that fails to parse is retried with the other.
   * @default 'auto'
   */
  decorators?: 'auto' | 'legacy' | 'standard';
  /**
   * Class method names Istanbul does not count (istanbul-lib-instrument's `ignoreClassMethods`).
   * @default []
   */
  ignoreClassMethods?: string[];
  /**
   * Directory of the content-hash cache of instrumented files, relative to `cwd`, or `false` to
   * turn it off.
   * @default 'node_modules/.cache/lambda-coverage'
   */
  cache?: string | false;
  /**
   * Worker threads that instrument in parallel. `'auto'` uses `availableParallelism() - 1` workers
   * when there are more than 2 cores and instruments on the main thread otherwise; `0` = main thread.
   * @default 'auto'
   */
  workers?: number | 'auto';
  /**
   * What a file that cannot be instrumented becomes: `'error'` fails the build with the file and its
   * location; `'warn'` bundles it uninstrumented with a warning (counted in the end-of-build line).
   * @default 'error'
   */
  onFailure?: 'error' | 'warn';
  /**
   * Print the end-of-build summary line (on stderr). It is also silenced by esbuild's
   * `logLevel` `'silent'`, `'error'` or `'warning'`.
   * @default true
   */
  summary?: boolean;
  /**
   * Also write the original text of every instrumented file beside the manifest
   * (`lambda-coverage-sources.json.gz`, keyed by each file's Istanbul hash). The layer uploads it with
   * the build's maps, once per build, and the combiner shows it in the HTML report where the file is
   * not on disk (the combiner Lambda, a CI job without the checkout). Off by default because it puts
   * your source text in the bucket: see docs/security.md. It changes no instrumented output (it is not
   * part of a file's instrument request, so not of the cache key). With it off, a sources document an
   * earlier build left beside the manifest is removed.
   * @default false
   */
  sources?: boolean;
}

export type DecoratorsFlavor = 'legacy' | 'standard';

/** The options after validation, with every default applied. */
export interface ResolvedOptions {
  enabled: boolean;
  include: string[];
  exclude: string[];
  extensions: string[];
  cwd: string;
  lean: boolean;
  decorators: 'auto' | DecoratorsFlavor;
  ignoreClassMethods: string[];
  cacheDir: string | null;
  workers: number;
  onFailure: 'error' | 'warn';
  summary: boolean;
  sources: boolean;
}

export const DEFAULT_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

const EXT_GLOB = '{ts,tsx,mts,cts,js,jsx,mjs,cjs}';

/** nyc's default exclude list (@istanbuljs/schema), widened to TypeScript extensions and `.spec`. */
export const DEFAULT_EXCLUDE = [
  'coverage/**',
  'packages/*/test{,s}/**',
  '**/*.d.{ts,mts,cts}',
  'test{,s}/**',
  `test{,-*}.${EXT_GLOB}`,
  `**/*{.,-}{test,spec}.${EXT_GLOB}`,
  '**/__tests__/**',
  '**/__mocks__/**',
  '**/{ava,babel,nyc,vitest,jest}.config.*',
  '**/{karma,rollup,webpack,esbuild}.config.*',
  '**/.{eslint,mocha}rc.{js,cjs}',
];

export const DEFAULT_CACHE_DIR = 'node_modules/.cache/lambda-coverage';

export class CoverageOptionsError extends Error {
  override name = 'CoverageOptionsError';
}

function bad(option: string, expected: string, got: unknown): never {
  throw new CoverageOptionsError(
    `lambda-coverage: option "${option}" must be ${expected}, got ${JSON.stringify(got)}`,
  );
}

function globList(option: string, v: unknown, fallback: string[]): string[] {
  if (v === undefined) return fallback;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((g) => typeof g === 'string' && g !== '')) {
    bad(option, 'a glob string or an array of non-empty glob strings', v);
  }
  return [...list];
}

/** Whether the plugin is on: the option wins, else COVERAGE_ENABLED, read as the layer reads it. */
export function isEnabled(options: CoverageInstrumentOptions, env: NodeJS.ProcessEnv): boolean {
  if (options.enabled !== undefined) {
    if (typeof options.enabled !== 'boolean') bad('enabled', 'a boolean', options.enabled);
    return options.enabled;
  }
  return isCoverageEnabled(env);
}

/** The number of worker threads `'auto'` means on a machine with `cores` cores. */
export function autoWorkers(cores: number): number {
  return cores > 2 ? Math.min(cores - 1, 8) : 0;
}

const KNOWN = new Set([
  'enabled', 'include', 'exclude', 'extensions', 'cwd', 'lean', 'decorators',
  'ignoreClassMethods', 'cache', 'workers', 'onFailure', 'summary', 'sources',
]);

/**
 * Options that existed and were taken out, with what to do instead: a build that still passes one
 * fails with that advice rather than an "unknown option" that leaves the user guessing.
 */
const REMOVED = new Map([
  ['coverageVariable', `the bundle always counts into globalThis.${COVERAGE_GLOBAL}, the global the Lambda layer reads (a bundle counting into another one was reported "not-instrumented"); remove the option`],
]);

/**
 * Validates options and applies defaults. `buildCwd` is esbuild's absWorkingDir when set.
 * Throws CoverageOptionsError naming the option and what was expected.
 */
export function resolveOptions(
  options: CoverageInstrumentOptions = {},
  { env = process.env, buildCwd, cores = availableParallelism() }:
    { env?: NodeJS.ProcessEnv; buildCwd?: string | undefined; cores?: number } = {},
): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CoverageOptionsError(`lambda-coverage: options must be an object, got ${JSON.stringify(options)}`);
  }
  for (const k of Object.keys(options)) {
    const removed = REMOVED.get(k);
    if (removed !== undefined) throw new CoverageOptionsError(`lambda-coverage: option "${k}" was removed: ${removed}`);
    if (!KNOWN.has(k)) {
      throw new CoverageOptionsError(
        `lambda-coverage: unknown option "${k}"; known options are ${[...KNOWN].join(', ')}`,
      );
    }
  }
  const o = options;
  if (o.cwd !== undefined && (typeof o.cwd !== 'string' || o.cwd === '')) bad('cwd', 'a directory path', o.cwd);
  const cwd = resolve(o.cwd ?? buildCwd ?? process.cwd());

  const extensions = o.extensions ?? DEFAULT_EXTENSIONS;
  if (!Array.isArray(extensions) || !extensions.every((e) => typeof e === 'string' && /^\.[\w.-]+$/.test(e))) {
    bad('extensions', 'an array of extensions like ".ts"', o.extensions);
  }
  if (o.lean !== undefined && typeof o.lean !== 'boolean') bad('lean', 'a boolean', o.lean);
  if (o.summary !== undefined && typeof o.summary !== 'boolean') bad('summary', 'a boolean', o.summary);
  if (o.sources !== undefined && typeof o.sources !== 'boolean') bad('sources', 'a boolean', o.sources);
  const decorators = o.decorators ?? 'auto';
  if (!['auto', 'legacy', 'standard'].includes(decorators)) bad('decorators', '"auto", "legacy" or "standard"', o.decorators);
  const ignoreClassMethods = o.ignoreClassMethods ?? [];
  if (!Array.isArray(ignoreClassMethods) || !ignoreClassMethods.every((m) => typeof m === 'string')) {
    bad('ignoreClassMethods', 'an array of method names', o.ignoreClassMethods);
  }
  let cacheDir: string | null;
  if (o.cache === false) cacheDir = null;
  else if (o.cache === undefined) cacheDir = resolve(cwd, DEFAULT_CACHE_DIR);
  else if (typeof o.cache === 'string' && o.cache !== '') cacheDir = isAbsolute(o.cache) ? o.cache : resolve(cwd, o.cache);
  else bad('cache', 'a directory path or false', o.cache);
  let workers: number;
  if (o.workers === undefined || o.workers === 'auto') workers = autoWorkers(cores);
  else if (typeof o.workers === 'number' && Number.isInteger(o.workers) && o.workers >= 0 && o.workers <= 64) workers = o.workers;
  else bad('workers', '"auto" or an integer from 0 to 64', o.workers);
  const onFailure = o.onFailure ?? 'error';
  if (onFailure !== 'error' && onFailure !== 'warn') bad('onFailure', '"error" or "warn"', o.onFailure);

  return {
    enabled: isEnabled(o, env),
    include: globList('include', o.include, []),
    exclude: globList('exclude', o.exclude, DEFAULT_EXCLUDE),
    extensions: [...extensions],
    cwd,
    lean: o.lean ?? true,
    decorators,
    ignoreClassMethods: [...ignoreClassMethods],
    cacheDir,
    workers,
    onFailure,
    summary: o.summary ?? true,
    sources: o.sources ?? false,
  };
}
