/**
 * Reports through istanbul-lib-report + istanbul-reports, any reporter by name. The writer is ours:
 * every file lands inside the output directory (a coverage path like `../../x` cannot escape it), the
 * files written are recorded (for --upload), and terminal reporters are captured as text.
 * The source finder is injected: where the source is not on disk (the Lambda combiner) it falls back
 * to the source text stored in the bucket with the build (stored-sources.ts), and where there is none
 * either the HTML page says so and the summary lists those files, instead of failing.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative, resolve, sep } from 'node:path';
import type { CoverageMap, CoverageSummary } from 'istanbul-lib-coverage';
import type libReportType from 'istanbul-lib-report';
import type reportsType from 'istanbul-reports';
import { projectPathProblem } from '../contract/format.js';
import { assertInside } from './paths.js';
import type { StoredSourceFinder } from './stored-sources.js';

const require = createRequire(import.meta.url);
interface IstanbulFileWriter {
  baseDir: string;
  writerForDir(subdir: string): IstanbulFileWriter;
  copyFile(source: string, dest: string, header?: string): void;
  writeFile(file: string | null): unknown;
}
// Loaded when reports are written (not for the merge core, nor for a run that fails earlier).
const lazy = {
  get libReport() { return require('istanbul-lib-report') as typeof libReportType; },
  get reports() { return require('istanbul-reports') as typeof reportsType; },
  get FileWriter() { return require('istanbul-lib-report/lib/file-writer.js') as new (baseDir: string) => IstanbulFileWriter; },
};

/** The reporters istanbul-reports ships; any other name is tried as a module (as nyc does). */
export const KNOWN_REPORTERS = [
  'clover', 'cobertura', 'html', 'html-spa', 'json', 'json-summary', 'lcov', 'lcovonly', 'none', 'teamcity',
  'text', 'text-lcov', 'text-summary',
] as const;

export const DEFAULT_REPORTERS = ['text-summary', 'html', 'lcov', 'json', 'json-summary'];

export class ReporterError extends Error {
  override name = 'ReporterError';
}

class TextCapture {
  constructor(private readonly sink: (s: string) => void) {}
  write(str: string): void { this.sink(str); }
  println(str: string): void { this.sink(`${str}\n`); }
  colorize(str: string): string { return str; }
  close(): void {}
}

function guardedWriter(baseDir: string, root: string, written: Set<string>, terminal: (s: string) => void): IstanbulFileWriter {
  const w = new lazy.FileWriter(baseDir);
  const superWriteFile = w.writeFile.bind(w);
  const superCopyFile = w.copyFile.bind(w);
  w.writerForDir = (subdir) => guardedWriter(assertInside(root, resolve(baseDir, subdir)), root, written, terminal);
  w.copyFile = (source, dest, header) => {
    written.add(assertInside(root, resolve(baseDir, dest)));
    superCopyFile(source, dest, header);
  };
  w.writeFile = (file) => {
    if (file === null || file === '-') return new TextCapture(terminal);
    written.add(assertInside(root, resolve(baseDir, file)));
    return superWriteFile(file);
  };
  return w;
}

export interface SourceLookup {
  find(path: string): string;
  /** Files whose source could not be read, in the order asked. */
  missing: string[];
  /** Files shown with the source text stored in the bucket (not found under the root). */
  stored: string[];
}

/** Larger than any source file worth showing; a bigger one is left out like a missing one. */
const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

/**
 * The source of `path`, read only when it is a regular file inside `root` once every symlink is
 * resolved: a coverage path is untrusted input, and must never make the report show (and publish)
 * another file of this machine. Undefined when it is not such a file.
 */
function readInside(root: string, path: string): string | undefined {
  const real = realInside(root, path);
  return real === undefined ? undefined : readBounded(real);
}

/** The real path of `path` under `root` when it stays inside it once every symlink is resolved. */
function realInside(root: string, path: string): string | undefined {
  if (projectPathProblem(path, 4096) !== undefined) return undefined;
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(resolve(realRoot, path));
  } catch {
    return undefined;
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || resolve(realRoot, rel) !== real) return undefined;
  return real;
}

function readBounded(real: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(real, 'r');
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_SOURCE_BYTES) return undefined;
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const k = readSync(fd, buf, n, buf.length - n, n);
      if (k === 0) break;
      n += k;
    }
    return buf.toString('utf8', 0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether `path` is a file the report can read under `root` (what `sourceLookup` reads first), without reading it. */
export function readableInside(root: string | null, path: string): boolean {
  if (root === null) return false;
  const real = realInside(root, path);
  if (real === undefined) return false;
  try {
    const st = statSync(real);
    return st.isFile() && st.size <= MAX_SOURCE_BYTES;
  } catch {
    return false;
  }
}

/**
 * Reads sources under `root` (`null`: no checkout, the Lambda combiner), else from `stored`, the text
 * stored with the build (checked against its maps there). `missing` and `stored` may be shared by the
 * lookups of several reports (`--build all`).
 * istanbul-reports puts a source finder's error message into the page as HTML, so the message is
 * fixed text (the file's name is in the page's title, escaped); and it turns \u0001 / \u0002 of a
 * source into `<` / `>` of its own markup, so those never reach it (from disk or from the bucket).
 */
export function sourceLookup(root: string | null, stored?: StoredSourceFinder, lists: { missing: string[]; stored: string[] } = { missing: [], stored: [] }): SourceLookup {
  const { missing } = lists;
  return {
    missing,
    stored: lists.stored,
    find(path: string): string {
      let text = root === null ? undefined : readInside(root, path);
      if (text === undefined && stored !== undefined) {
        text = stored.find(path);
        if (text !== undefined && !lists.stored.includes(path)) lists.stored.push(path);
      }
      if (text !== undefined) return text.replace(/[\u0001\u0002]/g, '\ufffd');
      if (!missing.includes(path)) missing.push(path);
      const why = root === null
        ? 'Source not shown: this file is not available where this report was made (no --source-root). No matching source text is stored with its build (the plugin\'s sources option). Coverage numbers above are complete.'
        : 'Source not shown: this file was not found under the report\'s --source-root. No matching source text is stored with its build (the plugin\'s sources option). Coverage numbers above are complete.';
      const err = new Error(why);
      err.stack = ''; // the HTML page shows message + stack; the stack says nothing useful here
      throw err;
    },
  };
}

export interface WriteReportsOptions {
  coverageMap: CoverageMap;
  dir: string;
  reporters: readonly string[];
  sources: SourceLookup;
  /** Cobertura's <source>, and where relative paths are read from. */
  projectRoot: string;
}

export interface WrittenReports {
  dir: string;
  files: string[];
  /** What terminal reporters (text-summary, text) printed. */
  terminal: string;
}

function createReport(name: string) {
  try {
    return lazy.reports.create(name as 'json', { projectRoot: process.cwd() } as never);
  } catch (cause) {
    throw new ReporterError(`unknown reporter "${name}"; use one of ${KNOWN_REPORTERS.join(', ')}`, { cause });
  }
}

/** Throws ReporterError for a name istanbul-reports cannot load: checked before any input is read. */
export function checkReporters(names: readonly string[]): void {
  for (const name of names) createReport(name);
}

export function writeReports(opts: WriteReportsOptions): WrittenReports {
  const written = new Set<string>();
  let terminal = '';
  const dir = resolve(opts.dir);
  const context = lazy.libReport.createContext({ dir, coverageMap: opts.coverageMap, sourceFinder: (p) => opts.sources.find(p) });
  (context as { data: { writer?: unknown } }).data.writer = guardedWriter(dir, dir, written, (s) => { terminal += s; });
  const names = [...new Set(opts.reporters)];
  for (const name of names) {
    // `lcov` is lcov.info + an HTML copy; with `html` also asked for, one HTML report is enough.
    const effective = name === 'lcov' && names.includes('html') ? 'lcovonly' : name;
    createReport(effective).execute(context);
    if (effective === 'cobertura') fixCoberturaSource(dir, opts.projectRoot);
  }
  return { dir, files: [...written].sort(), terminal };
}

/**
 * What a text reporter (lcovonly, text) writes for `coverageMap`, as a string: nothing is written to
 * disk (combine --per-test runs lcovonly once per test and puts the sections together).
 */
export function renderText(name: string, coverageMap: CoverageMap): string {
  let text = '';
  const context = lazy.libReport.createContext({ dir: process.cwd(), coverageMap });
  const sink: IstanbulFileWriter = {
    baseDir: process.cwd(),
    writerForDir: () => sink,
    copyFile: () => { throw new ReporterError(`${name} copies files; only text reporters are rendered to a string`); },
    writeFile: () => new TextCapture((s) => { text += s; }),
  };
  (context as { data: { writer?: unknown } }).data.writer = sink;
  createReport(name).execute(context);
  return text;
}

/**
 * Cobertura's `filename`s come from path.relative(projectRoot, path), which resolves our relative
 * coverage paths against the process's cwd; so the report is rendered with projectRoot = cwd (filenames
 * stay the coverage paths) and `<source>` is then set to where those paths really are relative to.
 */
function fixCoberturaSource(dir: string, sourceRoot: string): void {
  const file = resolve(dir, 'cobertura-coverage.xml');
  let xml: string;
  try { xml = readFileSync(file, 'utf8'); } catch { return; }
  const esc = sourceRoot.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  writeFileSync(file, xml.replace(/<source>[^<]*<\/source>/, () => `<source>${esc}</source>`));
}

export type Metric = 'lines' | 'branches' | 'functions' | 'statements';
export const METRICS: readonly Metric[] = ['lines', 'branches', 'functions', 'statements'];
/** Per metric, and `patchLines`: of the lines a --diff changes (combiner/patch.ts). */
export type Thresholds = Partial<Record<Metric | 'patchLines', number>>;

/** One `ERROR:` line per failed metric, worded as nyc and c8 print it. */
export function checkThresholds(summary: CoverageSummary, thresholds: Thresholds, label = ''): string[] {
  const errors: string[] = [];
  for (const m of METRICS) {
    const want = thresholds[m];
    if (want === undefined) continue;
    const pct = summary[m].pct as number | string;
    // Istanbul says 'Unknown' for 0 of 0; nothing to cover is not a failure (as in nyc and c8).
    if (typeof pct === 'number' && pct < want) {
      errors.push(`ERROR: Coverage for ${m} (${pct}%) does not meet threshold (${want}%)${label}`);
    }
  }
  return errors;
}
