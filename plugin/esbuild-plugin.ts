/**
 * coverageInstrument(): the esbuild plugin. Claims the project's own source files in onLoad,
 * instruments them (cache, worker pool or main thread) and writes the build manifest at onEnd.
 */
import { hash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BuildResult, OnLoadArgs, OnLoadResult, PartialMessage, Plugin, PluginBuild } from 'esbuild';
import { BUILD_DEBUG_VARIABLE, parseFlag } from '../runtime/env.js';
import { MANIFEST_FILE } from '../contract/format.js';
import { entryHash } from '../contract/manifest.js';
import { InstrumentCache, fromInstrumented, type Loaded } from './cache.js';
import { InstrumentError, LEAN_HELPER, withInlineMap } from './instrumented.js';
import { manifestSignature, mergeEntries, renderManifest, writeManifest } from './manifest.js';
import { resolveOptions, type CoverageInstrumentOptions, type ResolvedOptions } from './options.js';
import { chainedMaps, chainedTexts } from './registry.js';
import { manifestHashes, removeSources, renderSources, sourcesPath, writeSources } from './sources.js';
import { hasMapsFile, renderMapsFile, writeMapsFile } from './maps.js';
import { cacheKey, instrumentSpec, type InstrumentSpec, type SpecSettings } from './request.js';
import { coverageKey, createSelector, extensionsFilter, loaderFor } from './select.js';
import { DecoratorsResolver } from './tsconfig.js';
import { generatorName, toolVersions } from './versions.js';
import { InstrumentPool, workerAvailable } from './workers.js';

const NAME = 'lambda-coverage';

/** Babel and istanbul-lib-instrument, loaded on the first file the cache does not have. */
const loadInstrumenter = (): Promise<typeof import('./instrument-core.js')> => import('./instrument-core.js');

/** `LAMBDA_COVERAGE_DEBUG=1`: one line per file (selected or not, cache hit or not) and phase times. */
const debugOn = (): boolean => parseFlag(process.env[BUILD_DEBUG_VARIABLE]) === true;
function debug(line: string): void {
  process.stderr.write(`${NAME} debug: ${line}\n`);
}

/** What one build did, for the end-of-build line. */
interface BuildStats {
  startedAt: number;
  /** Files claimed and instrumented (including cache hits). */
  instrumented: number;
  cacheHits: number;
  /** Files that could not be instrumented (each reported as an error or a warning). */
  failed: number;
  /** Files that matched include/exclude (instrumented, failed or `istanbul ignore file`). */
  matched: number;
  cacheWriteError: string | undefined;
  /** Coverage key -> JSON text of the file's maps, for the manifest. */
  files: Map<string, string>;
  /** Istanbul hash -> the text instrumented, with `sources: true` (else empty). */
  texts: Map<string, string>;
  /** Time spent in our onLoad callbacks, summed, and writing the manifest (for LAMBDA_COVERAGE_DEBUG). */
  loadMs: number;
  manifestMs: number;
  /** What became of the manifest, for LAMBDA_COVERAGE_DEBUG. */
  manifestNote: string;
}

function newStats(): BuildStats {
  return { startedAt: performance.now(), instrumented: 0, cacheHits: 0, failed: 0, matched: 0, cacheWriteError: undefined, files: new Map(), texts: new Map(), loadMs: 0, manifestMs: 0, manifestNote: '' };
}

/**
 * Names a build for its cache pack: the same entry points into the same output with the same options
 * (relative to the project, so a cache restored into another checkout still finds it).
 */
export function buildId(build: PluginBuild['initialOptions'], opts: ResolvedOptions, buildCwd: string): string {
  const out = build.outdir ?? build.outfile;
  const output = out === undefined ? null : coverageKey(opts.cwd, resolve(buildCwd, out));
  const id = [output, build.entryPoints ?? null, build.stdin?.sourcefile ?? null, opts.lean, build.sourcemap ?? null];
  return hash('sha256', JSON.stringify(id)).slice(0, 32);
}

/** Where the manifest goes: esbuild's outdir, else the directory of its outfile. */
export function manifestPath(build: PluginBuild['initialOptions'], buildCwd: string): string | undefined {
  const base = build.outdir ?? (build.outfile !== undefined ? dirname(build.outfile) : undefined);
  return base === undefined ? undefined : join(resolve(buildCwd, base), MANIFEST_FILE);
}

function quiet(build: PluginBuild['initialOptions']): boolean {
  return build.logLevel === 'silent' || build.logLevel === 'error' || build.logLevel === 'warning';
}

export function summaryLine(s: BuildStats, opts: ResolvedOptions, manifest: string | undefined): string {
  const secs = ((performance.now() - s.startedAt) / 1000).toFixed(2);
  const files = `${s.instrumented} file${s.instrumented === 1 ? '' : 's'}`;
  const failed = s.failed > 0 ? `, ${s.failed} FAILED (see above)` : ', 0 failed';
  const where = manifest ? `, manifest ${coverageKey(opts.cwd, manifest)}${opts.sources ? ' + sources' : ''}` : '';
  return `${NAME}: instrumented ${files} (${s.cacheHits} from cache${failed}) in ${secs}s [${opts.lean ? 'lean' : 'full'}${where}]`;
}

function failureMessage(e: unknown, key: string): PartialMessage {
  if (e instanceof InstrumentError) {
    return {
      text: e.message,
      location: e.location ? { file: key, line: e.location.line, column: e.location.column, lineText: e.location.lineText } : { file: key },
      detail: e,
    };
  }
  return { text: `could not instrument ${key}: ${(e as Error)?.message ?? String(e)}`, location: { file: key }, detail: e };
}

/**
 * The esbuild plugin. Enabled by `options.enabled`, else by `COVERAGE_ENABLED=1`; when not enabled
 * it registers no callbacks at all.
 *
 * @example
 * import * as esbuild from 'esbuild';
 * import { coverageInstrument } from 'lambda-coverage/esbuild';
 *
 * await esbuild.build({
 *   entryPoints: ['src/handler.ts'], bundle: true, platform: 'node', format: 'esm', outdir: 'dist',
 *   plugins: [coverageInstrument({ include: ['src/**'] })], // counters only with COVERAGE_ENABLED=1
 * });
 */
export function coverageInstrument(options: CoverageInstrumentOptions = {}): Plugin {
  // Bad options fail where the plugin is created, not in the middle of a build.
  resolveOptions(options);
  return {
    name: NAME,
    setup(build) {
      const initial = build.initialOptions;
      const buildCwd = initial.absWorkingDir ?? process.cwd();
      const opts = resolveOptions(options, { buildCwd: initial.absWorkingDir });
      if (!opts.enabled) return;
      setupEnabled(build, opts, buildCwd);
    },
  };
}

function setupEnabled(build: PluginBuild, opts: ResolvedOptions, buildCwd: string): void {
  const initial = build.initialOptions;
  // The metafile tells which files were bundled, for files a chained plugin instrumented with
  // instrument(). Only another plugin can do that, and the metafile costs ~20% of a warm build.
  if ((initial.plugins ?? []).some((p) => p.name !== NAME)) initial.metafile = true;
  // Lean files call one shared helper; the banner defines it at the top of every output file.
  if (opts.lean) {
    const own = initial.banner?.js;
    initial.banner = { ...initial.banner, js: own ? `${LEAN_HELPER}\n${own}` : LEAN_HELPER };
  }
  const selected = createSelector(opts);
  const cache = opts.cacheDir ? new InstrumentCache(opts.cacheDir) : undefined;
  const decorators = new DecoratorsResolver({ tsconfigRaw: initial.tsconfigRaw, tsconfig: initial.tsconfig, cwd: buildCwd });
  const useWorkers = opts.workers > 0 && workerAvailable();
  const sourcemap = initial.sourcemap !== undefined && initial.sourcemap !== false;
  const settings: SpecSettings = { tools: toolVersions(), lean: opts.lean, ignoreClassMethods: opts.ignoreClassMethods, sourceMap: sourcemap };
  let pool: InstrumentPool | undefined;
  let stats = newStats();
  let previousKeys = new Set<string>();
  const verbose = debugOn();

  const packId = cache ? buildId(initial, opts, buildCwd) : '';

  build.onStart(() => {
    stats = newStats();
    cache?.startBuild(packId);
  });

  /** A cache hit never decodes the file: bytes in, bytes out. */
  async function produce(filename: string, spec: InstrumentSpec, source: Buffer): Promise<Loaded> {
    const key = cache ? cacheKey(spec) : undefined;
    if (cache && key) {
      const hit = cache.get(key);
      if (hit) {
        stats.cacheHits++;
        return hit;
      }
    }
    if (useWorkers) pool ??= new InstrumentPool(opts.workers);
    const full = { spec, code: source.toString('utf8'), filename };
    const result = fromInstrumented(pool ? await pool.run(full) : await (await loadInstrumenter()).instrumentSource(full));
    if (cache && key) {
      await cache.set(key, result).catch((e: Error) => {
        stats.cacheWriteError ??= `${opts.cacheDir}: ${e.message}`;
      });
    }
    return result;
  }

  build.onLoad({ filter: extensionsFilter(opts.extensions), namespace: 'file' }, async (args: OnLoadArgs): Promise<OnLoadResult | undefined> => {
    // `import x from './a.js' with { type: 'text' }` and the like are not code.
    if (args.with && Object.keys(args.with).length > 0) return undefined;
    if (!selected(args.path)) {
      if (verbose) debug(`skip ${args.path} (not selected by include/exclude)`);
      return undefined;
    }
    const loader = loaderFor(args.path, initial.loader);
    if (!loader) return undefined;
    stats.matched++;
    const key = coverageKey(opts.cwd, args.path);
    const t0 = performance.now();
    const hitsBefore = stats.cacheHits;
    try {
      // Sync: source files are small and fs.promises costs four round trips a file (measured 2x slower).
      const source = readFileSync(args.path);
      const flavor = opts.decorators === 'auto' ? await decorators.flavorFor(args.path) : opts.decorators;
      const out = await produce(args.path, instrumentSpec(settings, { key, loader, decorators: flavor, source }), source);
      if (out.mapsJson !== null) {
        stats.instrumented++;
        stats.files.set(key, out.mapsJson);
        // The text Babel was given (request.ts: the bytes as UTF-8), under the hash of the version it became.
        const h = opts.sources ? entryHash(out.mapsJson) : undefined;
        if (h !== undefined) stats.texts.set(h, source.toString('utf8'));
      }
      const contents = withInlineMap(out, sourcemap);
      const ms = performance.now() - t0;
      stats.loadMs += ms;
      if (verbose) debug(`${out.mapsJson !== null ? 'instrument' : 'ignored (istanbul ignore file)'} ${key} ${stats.cacheHits > hitsBefore ? 'cache hit' : 'cache miss'} ${ms.toFixed(1)}ms`);
      return { contents, loader };
    } catch (e) {
      stats.failed++;
      const msg = failureMessage(e, key);
      if (opts.onFailure === 'error') return { errors: [msg] };
      msg.text = `${msg.text} (bundled WITHOUT coverage)`;
      return { warnings: [msg] };
    }
  });

  build.onEnd(async (result: BuildResult) => {
    const warnings: PartialMessage[] = [];
    const errors: PartialMessage[] = [];
    if (opts.include.length > 0 && stats.matched === 0) {
      warnings.push({
        text: `${NAME}: include ${JSON.stringify(opts.include)} matched none of the files in this build (globs are relative to ${opts.cwd}); nothing was instrumented`,
      });
    }
    // Files another plugin loaded and instrumented with instrument().
    let chained = 0;
    for (const maps of chainedMaps(result.metafile, buildCwd)) {
      const key = maps.path;
      if (!stats.files.has(key)) {
        stats.files.set(key, JSON.stringify(maps));
        stats.instrumented++;
        chained++;
      }
    }
    if (opts.sources) for (const [h, text] of chainedTexts(result.metafile, buildCwd)) if (!stats.texts.has(h)) stats.texts.set(h, text);

    const file = manifestPath(initial, buildCwd);
    let written: string | undefined;
    // The manifest as this build leaves it, when it lists exactly this build's cache entries (see cache.ts).
    let signature: string | undefined;
    /** The entries the manifest lists once written (its maps document is made from them). */
    let mapsEntries: ReadonlyMap<string, string> | undefined;
    if (result.errors.length === 0 && stats.files.size > 0) {
      if (!file) {
        const text = `${NAME}: the build has no outdir or outfile, so the coverage manifest (static maps) was not written`;
        if (opts.lean) errors.push({ text, notes: [{ text: 'Set outdir or outfile, or use coverageInstrument({ lean: false }) to keep the maps in the bundle.' }] });
        else warnings.push({ text });
      } else if (initial.write === false) {
        addOutputFile(result, file, stats.files, previousKeys);
        const maps = renderMapsFile(stats.files);
        result.outputFiles?.push(outputFile(join(dirname(file), maps.name), maps.bytes));
        if (opts.sources) result.outputFiles?.push(outputFile(sourcesPath(file), renderSources(stats.texts)));
        written = file;
      } else {
        try {
          const t0 = performance.now();
          const dropped = new Set([...previousKeys].filter((k) => !stats.files.has(k)));
          // The same cache entries as the build that left the manifest, and the file as it left it:
          // the same text would be written, so it is not even read.
          const packed = chained === 0 && dropped.size === 0 ? cache?.packedManifest : undefined;
          // Unchanged and not read: its maps document is the one already beside it.
          if (packed !== undefined && cache?.usedJustThePack() && manifestSignature(file) === packed && hasMapsFile(file)) {
            stats.manifestNote = 'unchanged since the last build, not read';
            signature = packed;
          } else {
            const w = await writeManifest(file, stats.files, dropped, generatorName(), (k) => existsSync(resolve(opts.cwd, k)));
            stats.manifestNote = w.written ? 'written' : 'unchanged, not rewritten';
            signature = chained === 0 ? w.signature : undefined;
            mapsEntries = w.entries;
          }
          written = file;
          stats.manifestMs = performance.now() - t0;
        } catch (e) {
          errors.push({ text: `${NAME}: could not write the coverage manifest ${file}: ${(e as Error).message}` });
        }
        if (written !== undefined && mapsEntries !== undefined) {
          try {
            await writeMapsFile(file, mapsEntries);
          } catch (e) {
            warnings.push({ text: `${NAME}: could not write the maps document beside ${file} (${(e as Error).message}); the layer builds it from the manifest instead` });
          }
        }
        if (written !== undefined) {
          const sources = sourcesPath(file);
          try {
            // The texts of the versions the manifest lists now (its other builds' too), nothing older.
            if (opts.sources) await writeSources(sources, stats.texts, await manifestHashes(file));
            else if (await removeSources(sources)) warnings.push({ text: `${NAME}: removed ${sources}, left by a build with sources: true; this build has sources off` });
          } catch (e) {
            errors.push({ text: `${NAME}: could not write the sources document ${sources}: ${(e as Error).message}` });
          }
        }
      }
      previousKeys = new Set(stats.files.keys());
    }

    let packWritten = false;
    if (cache) {
      packWritten = await cache.finishBuild(result.errors.length === 0, signature).catch((e: Error) => {
        stats.cacheWriteError ??= `${opts.cacheDir}: ${e.message}`;
        return false;
      });
    }
    if (stats.cacheWriteError) warnings.push({ text: `${NAME}: could not write the instrument cache (${stats.cacheWriteError}); builds stay correct but slower` });
    if (opts.summary && !quiet(initial)) process.stderr.write(`${summaryLine(stats, opts, written)}\n`);
    const threads = useWorkers ? String(opts.workers) : opts.workers > 0 ? '0 (no compiled worker.js next to the plugin)' : '0';
    if (verbose) debug(`onLoad total ${stats.loadMs.toFixed(0)}ms (summed over files), manifest ${stats.manifestMs.toFixed(0)}ms${stats.manifestNote ? ` (${stats.manifestNote})` : ''}, workers ${threads}, cache ${opts.cacheDir ?? 'off'}${cache ? ` (${cache.packNote}${packWritten ? ', pack rewritten' : ''})` : ''}`);
    if (pool) {
      const p = pool;
      pool = undefined;
      await p.close();
    }
    return { errors, warnings };
  });

  build.onDispose(() => {
    cache?.close();
    void pool?.close();
  });
}

function outputFile(path: string, contents: Uint8Array) {
  return { path, contents, text: '', hash: '' };
}

/** With `write: false` the manifest is one more output file, next to the others. */
function addOutputFile(result: BuildResult, file: string, files: Map<string, string>, previousKeys: Set<string>): void {
  const dropped = new Set([...previousKeys].filter((k) => !files.has(k)));
  const text = renderManifest(mergeEntries(undefined, files, dropped), generatorName());
  const contents = new TextEncoder().encode(text);
  result.outputFiles?.push({ path: file, contents, text, hash: '' });
}
