/**
 * Which files get instrumented, which loader they go back to esbuild with, and their coverage key.
 * Pure over paths: no file system.
 */
import { extname, relative, sep } from 'node:path';
import TestExclude from 'test-exclude';
import type { CodeLoader } from './instrument-core.js';
import type { ResolvedOptions } from './options.js';

/** Coverage key: the path relative to the project root with `/` separators. */
export function coverageKey(cwd: string, file: string): string {
  return relative(cwd, file).split(sep).join('/');
}

/** A predicate over absolute paths with nyc's include/exclude meaning, relative to `cwd`. */
export function createSelector(opts: Pick<ResolvedOptions, 'cwd' | 'include' | 'exclude' | 'extensions'>): (file: string) => boolean {
  const te = new TestExclude({
    cwd: opts.cwd,
    include: opts.include.length > 0 ? opts.include : false,
    exclude: opts.exclude,
    extension: opts.extensions,
    excludeNodeModules: true,
  });
  return (file) => {
    // Never dependencies nor declaration files, whatever `exclude` says.
    if (file.split(sep).includes('node_modules') || /\.d\.[cm]?ts$/.test(file)) return false;
    return te.shouldInstrument(file, coverageKey(opts.cwd, file));
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
