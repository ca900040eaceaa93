/**
 * Which files get instrumented, which loader they go back to esbuild with, and their coverage key.
 * Pure over paths: no file system.
 */
import { createRequire } from 'node:module';
import { extname, relative, sep } from 'node:path';
import type TestExclude from 'test-exclude';
import { projectPathProblem } from '../contract/format.js';
import type { CodeLoader } from './instrumented.js';
import type { ResolvedOptions } from './options.js';

/** Coverage key: the path relative to the project root with `/` separators. */
export function coverageKey(cwd: string, file: string): string {
  return relative(cwd, file).split(sep).join('/');
}

interface MinimatchLike {
  match(path: string): boolean;
  makeRe(): RegExp | false;
}

type MinimatchCtor = new (pattern: string, options: { dot: boolean }) => MinimatchLike;

/** The very minimatch test-exclude matches with (its own dependency), so the semantics are the same. */
function testExcludeMinimatch(): MinimatchCtor {
  const fromTestExclude = createRequire(createRequire(import.meta.url).resolve('test-exclude'));
  return (fromTestExclude('minimatch') as { Minimatch: MinimatchCtor }).Minimatch;
}

function testExcludeBraceExpand(): ((glob: string) => string[]) | undefined {
  try {
    const fromTestExclude = createRequire(createRequire(import.meta.url).resolve('test-exclude'));
    const mm = fromTestExclude('minimatch') as { braceExpand?: (glob: string) => string[] };
    return typeof mm.braceExpand === 'function' ? mm.braceExpand : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For each brace expansion of a glob, the literal pieces (between wildcards, classes, extglobs and
 * slashes) any matching path contains. Undefined when the glob has escapes: no prefilter then.
 */
export function literalPieces(glob: string, braceExpand: (glob: string) => string[]): string[][] | undefined {
  if (glob.includes('\\')) return undefined;
  return braceExpand(glob).map((g) =>
    g
      .replace(/[@!+*?]\([^)]*\)/g, '*')
      .replace(/\[[^\]]*\]/g, '*')
      .split(/[*?/()|!+@]/)
      .filter((piece) => piece !== ''),
  );
}

/**
 * A predicate over absolute paths with nyc's include/exclude meaning, relative to `cwd`. test-exclude
 * normalizes the globs (negations, `dir/` → `dir/**`, `**\/x` also matching `x`); its own
 * shouldInstrument recompiles every glob on every call (~1 ms a file), so the normalized globs are
 * compiled once here and applied the way it applies them.
 */
export function createSelector(opts: Pick<ResolvedOptions, 'cwd' | 'include' | 'exclude' | 'extensions'>): (file: string) => boolean {
  // Compiling the globs costs a few ms: builds with the same settings (rebuilds, several entry
  // points) share one selector.
  const memoKey = JSON.stringify([opts.cwd, opts.include, opts.exclude, opts.extensions]);
  let selector = selectors.get(memoKey);
  if (!selector) {
    selector = compileSelector(opts);
    selectors.set(memoKey, selector);
  }
  return selector;
}

const selectors = new Map<string, (file: string) => boolean>();

function compileSelector(opts: Pick<ResolvedOptions, 'cwd' | 'include' | 'exclude' | 'extensions'>): (file: string) => boolean {
  // Required here, not imported: a build with coverage off never loads it.
  const TestExcludeCtor = createRequire(import.meta.url)('test-exclude') as typeof TestExclude;
  const te = new TestExcludeCtor({
    cwd: opts.cwd,
    include: opts.include.length > 0 ? opts.include : false,
    exclude: opts.exclude,
    extension: opts.extensions,
    excludeNodeModules: true,
  });
  const normalized = te as unknown as { include: unknown; exclude: unknown; excludeNegated: unknown };
  const isGlobs = (v: unknown): v is string[] => Array.isArray(v) && v.every((g) => typeof g === 'string');
  let Minimatch: MinimatchCtor | undefined;
  try {
    Minimatch = testExcludeMinimatch();
  } catch {
    Minimatch = undefined;
  }
  if (!Minimatch || !isGlobs(normalized.exclude) || !isGlobs(normalized.excludeNegated) || !(normalized.include === false || isGlobs(normalized.include))) {
    // A test-exclude whose normalized globs look different: its own (slower) matcher, same meaning.
    return (file) => !file.split(sep).includes('node_modules') && !/\.d\.[cm]?ts$/.test(file) && te.shouldInstrument(file, coverageKey(opts.cwd, file));
  }
  const MM = Minimatch;
  const braceExpand = testExcludeBraceExpand();
  // Each glob: literal pieces a path must contain before its RegExp is worth running (a path is
  // tested against ~25 default globs, and their RegExps backtrack), then the RegExp itself.
  const compile = (globs: string[]): { test(p: string): boolean } => {
    const checks = globs.map((g) => {
      const m = new MM(g, { dot: true });
      const re = m.makeRe();
      const match = re instanceof RegExp ? (p: string) => re.test(p) : (p: string) => m.match(p);
      const pieces = braceExpand ? literalPieces(g, braceExpand) : undefined;
      return pieces ? (p: string) => pieces.some((all) => all.every((piece) => p.includes(piece))) && match(p) : match;
    });
    return { test: (p) => checks.some((c) => c(p)) };
  };
  const include = normalized.include === false ? undefined : compile(normalized.include);
  const exclude = compile(normalized.exclude);
  const excludeNegated = compile(normalized.excludeNegated);
  return (file) => {
    // Never dependencies nor declaration files, whatever `exclude` says.
    if (file.split(sep).includes('node_modules') || /\.d\.[cm]?ts$/.test(file)) return false;
    if (!opts.extensions.some((e) => file.endsWith(e))) return false;
    const key = coverageKey(opts.cwd, file);
    // Outside the project root (as test-exclude), or a name the shard contract refuses (a control or
    // markup character): never, or the combiner would refuse the whole build's maps.
    if (projectPathProblem(key, Infinity) !== undefined) return false;
    return (!include || include.test(key)) && (!exclude.test(key) || excludeNegated.test(key));
  };
}

const DEFAULT_LOADERS: Record<string, CodeLoader> = {
  '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx',
  '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx',
};
const CODE_LOADERS = new Set<string>(['ts', 'tsx', 'js', 'jsx']);

/**
 * The loader esbuild would use for this file: the build's `loader` map wins (e.g. `.js: 'jsx'`).
 * Undefined when that loader is not code (`file`, `text`, …): such files are left alone.
 */
export function loaderFor(file: string, configured: Record<string, string> | undefined): CodeLoader | undefined {
  const ext = extname(file);
  const own = configured?.[ext];
  if (own !== undefined) return CODE_LOADERS.has(own) ? (own as CodeLoader) : undefined;
  return DEFAULT_LOADERS[ext];
}

/** esbuild onLoad filter (Go regexp syntax) for the configured extensions. */
export function extensionsFilter(extensions: string[]): RegExp {
  const alts = extensions.map((e) => e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`(?:${alts.join('|')})$`);
}
