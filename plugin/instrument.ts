/**
 * `instrument(code, path, options)`: the plugin's instrument step as a function, for builds whose
 * own plugin loads the files (esbuild gives each file to the first onLoad that claims it).
 */
import { isAbsolute, resolve } from 'node:path';
import { withInlineMap, type CodeLoader } from './instrumented.js';
import { resolveOptions, type CoverageInstrumentOptions } from './options.js';
import { recordChained } from './registry.js';
import { instrumentSpec } from './request.js';
import { coverageKey, loaderFor } from './select.js';
import { toolVersions } from './versions.js';
import type { FileMaps } from '../contract/format.js';

export type InstrumentOptions = Pick<CoverageInstrumentOptions, 'cwd' | 'lean' | 'ignoreClassMethods'> & {
  /** Decorator syntax of the file. @default 'legacy' when the code parses so, else 'standard' */
  decorators?: 'legacy' | 'standard';
  /** esbuild loader the file goes back with. @default by extension (.ts → ts, .tsx → tsx, .js → js, …) */
  loader?: CodeLoader;
};

export interface InstrumentResult {
  /** Instrumented code (TS/JSX syntax kept) ending in an inline source map: return it as `contents`. */
  contents: string;
  /** The loader to return with `contents`. */
  loader: CodeLoader;
  /** The coverage key: the path relative to `cwd` with `/` separators. */
  key: string;
  /** Static maps and hash of the file; null when it is not counted (`istanbul ignore file`). */
  maps: FileMaps | null;
}

/**
 * Instruments one file's text. `path` is the file's path (absolute, or relative to `cwd`).
 * Throws InstrumentError (with `location`) when the file cannot be parsed.
 * When `coverageInstrument()` is in the same build, it adds the file's maps to the manifest.
 *
 * @example
 * // In another plugin's onLoad (esbuild gives a file to the first onLoad that claims it):
 * import { instrument } from 'lambda-coverage/esbuild';
 *
 * build.onLoad({ filter: /\.svelte$/ }, async (args) => {
 *   const js = compileSvelte(await readFile(args.path, 'utf8'));
 *   const out = await instrument(js, args.path, { loader: 'js' });
 *   return { contents: out.contents, loader: out.loader };
 * });
 */
export async function instrument(code: string, path: string, options: InstrumentOptions = {}): Promise<InstrumentResult> {
  const { decorators, loader: loaderOption, ...rest } = options;
  const opts = resolveOptions({ ...rest, enabled: true, cache: false, workers: 0 });
  const abs = isAbsolute(path) ? path : resolve(opts.cwd, path);
  const loader = loaderOption ?? loaderFor(abs, undefined);
  if (!loader) throw new TypeError(`lambda-coverage: instrument(): cannot tell the loader of ${path} from its extension; pass options.loader`);
  const key = coverageKey(opts.cwd, abs);
  // Babel is loaded on the first call, not when lambda-coverage/esbuild is imported.
  const { instrumentSource } = await import('./instrument-core.js');
  const spec = instrumentSpec(
    { tools: toolVersions(), lean: opts.lean, ignoreClassMethods: opts.ignoreClassMethods, sourceMap: true },
    { key, loader, decorators: decorators ?? 'legacy', source: code },
  );
  const out = await instrumentSource({ spec, code, filename: abs });
  if (out.maps) recordChained(abs, out.maps, code);
  return { contents: withInlineMap(out, true), loader, key, maps: out.maps };
}
